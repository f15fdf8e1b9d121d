"""Writes the built-in preset folders (config.json, metadata.json, README.md) from one table.

Usage (from the repository root):
    python zoo/_make_presets.py            # all presets
    python zoo/_make_presets.py NAME ...   # some

`config.json` is `keras.saving.serialize_keras_object(model)` of the preset's
`VideoPredictor`. A folder that already holds `model.weights.h5` keeps the
weights-related fields of its metadata (sha256, metrics, training command),
so regenerating never loses what training recorded.
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import keras  # noqa: E402

from ctt_keras.models import VideoPredictor  # noqa: E402
from ctt_keras.zoo import (  # noqa: E402
    CONFIG_FILE, METADATA_FILE, MODEL_CARD_FILE, NVIDIA_LICENSE, WEIGHTS_FILE,
)

PAPER = (
    "Su, Byeon, Kossaifi, Huang, Kautz, Anandkumar: Convolutional Tensor-Train LSTM for Spatio-Temporal "
    "Learning, NeurIPS 2020 (arXiv:2002.09131)"
)
OFFICIAL_REPO = "https://github.com/NVlabs/conv-tt-lstm"
EVAL_README = "https://github.com/NVlabs/conv-tt-lstm/tree/master/eval_paper"
PAPER_ARCH = dict(layers_per_block=(3, 3, 3, 3), hidden_channels=(32, 48, 48, 32), skip_stride=2,
                  kernel_size=5)
TT = dict(order=3, steps=3, rank=8)
SMALL_ARCH = dict(layers_per_block=(1, 1), hidden_channels=(16, 16), skip_stride=None, kernel_size=5)

MNIST_DATA = "Moving-MNIST-2: two MNIST digits bouncing in a 64x64 canvas, 20-frame clips (SPEC §6)"
KTH_DATA = "KTH human actions, gray frames resized to 128x128; persons 1-16 train, 17-25 test (SPEC §6)"
NVLABS_CONVENTION = (
    "nvlabs: predictions clamped to [0, 1]; per-frame MSE (x1e3, mean over pixels), PSNR (range 1), SSIM "
    "(skimage defaults, data range 2), LPIPS AlexNet v0.1 on [0, 1] inputs (x1e3); averaged over samples "
    "per future frame, then over frames (SPEC §5)"
)
PAPER_SOURCE = "reported in the paper (SPEC §5 table); not re-measured by ctt_keras"
TRAINING_TOOL_NOTE = (
    "No weights are shipped yet: they are to be trained here with the project's training tool, which "
    "writes the preset folder (zoo.save_preset) with the command and measured metrics."
)


def _paper_metrics(mse=None, ssim=None, lpips=None, psnr=None, future=10, split=""):
    values = dict(mse_x1e3=mse, psnr=psnr, ssim=ssim, lpips_x1e3=lpips)
    values = {k: v for k, v in values.items() if v is not None}
    return {"values": values, "context_frames": 10, "future_frames": future, "split": split,
            "convention": NVLABS_CONVENTION, "source": PAPER_SOURCE}


MNIST_SPLIT = "Moving-MNIST-2 test set of the official code (moving-mnist-test.npz, 10,000 clips)"
KTH_SPLIT = "KTH test persons 17-25, non-overlapping clips, 128x128 gray"

PRESETS = {
    "mmnist_convttlstm": dict(
        model=dict(frame_shape=(64, 64, 1), cell="convttlstm", **PAPER_ARCH, **TT, output_sigmoid=False),
        description="The paper's Conv-TT-LSTM network for Moving-MNIST-2 "
                    "(12 cells, order 3, steps 3, rank 8).",
        dataset=MNIST_DATA, future_frames=10, license=NVIDIA_LICENSE,
        official_checkpoint={
            "file": "convttlstm-mnist.pt", "url": EVAL_README, "output_sigmoid": False,
            "license": NVIDIA_LICENSE,
            "sha256": None,
            "note": "Published by NVIDIA (Google Drive link in eval_paper/README.md). Its sha256 is not "
                    "known here, so the conversion is checked structurally instead (every parameter name "
                    "and shape, and the architecture inferred from them); the sha256 of the .pt actually "
                    "converted is recorded beside the cached weights.",
        },
        metrics=[_paper_metrics(mse=12.96, ssim=0.915, lpips=40.54, split=MNIST_SPLIT),
                 _paper_metrics(mse=25.81, ssim=0.840, lpips=90.38, future=30, split=MNIST_SPLIT)],
        weights_note="Weights: the official convttlstm-mnist.pt, converted without torch on first load.",
    ),
    "kth_convttlstm": dict(
        model=dict(frame_shape=(128, 128, 1), cell="convttlstm", **PAPER_ARCH, **TT, output_sigmoid=False),
        description="The paper's Conv-TT-LSTM network for KTH at 128x128 "
                    "(12 cells, order 3, steps 3, rank 8).",
        dataset=KTH_DATA, future_frames=20, license=NVIDIA_LICENSE,
        official_checkpoint={
            "file": "convttlstm-kth.pt", "url": EVAL_README, "output_sigmoid": False,
            "license": NVIDIA_LICENSE,
            "sha256": None,
            "note": "Published by NVIDIA (Google Drive link in eval_paper/README.md). The KTH training "
                    "scripts use a sigmoid output, but the published checkpoint was evaluated without one "
                    "(SPEC §3), so output_sigmoid is False. The official evaluation reads 120x120 frames "
                    "upsampled to 128x128. Checked structurally on conversion (sha256 unknown here).",
        },
        metrics=[_paper_metrics(psnr=28.36, ssim=0.907, lpips=133.4, future=20, split=KTH_SPLIT)],
        weights_note="Weights: the official convttlstm-kth.pt, converted without torch on first load.",
    ),
    "mmnist_convlstm": dict(
        model=dict(frame_shape=(64, 64, 1), cell="convlstm", **PAPER_ARCH, output_sigmoid=False),
        description="The paper's ConvLSTM baseline network for Moving-MNIST-2 (12 cells).",
        dataset=MNIST_DATA, future_frames=10, license="Apache-2.0 (configuration; no weights)",
        reference_metrics=[_paper_metrics(mse=18.17, ssim=0.882, lpips=67.13, split=MNIST_SPLIT),
                           _paper_metrics(mse=33.08, ssim=0.806, lpips=140.1, future=30, split=MNIST_SPLIT)],
        weights_note="The official ConvLSTM checkpoints were never published; this preset has no weights. "
                     "The reference metrics are the paper's for its own ConvLSTM run, not for weights here. "
                     + TRAINING_TOOL_NOTE,
    ),
    "kth_convlstm": dict(
        model=dict(frame_shape=(128, 128, 1), cell="convlstm", **PAPER_ARCH, output_sigmoid=False),
        description="The paper's ConvLSTM baseline network for KTH at 128x128 (12 cells).",
        dataset=KTH_DATA, future_frames=20, license="Apache-2.0 (configuration; no weights)",
        reference_metrics=[_paper_metrics(psnr=28.21, ssim=0.903, lpips=137.1, future=20, split=KTH_SPLIT)],
        weights_note="The official ConvLSTM checkpoints were never published; this preset has no weights. "
                     "The reference metrics are the paper's for its own ConvLSTM run, not for weights here. "
                     + TRAINING_TOOL_NOTE,
    ),
    "mmnist_convttlstm_small": dict(
        model=dict(frame_shape=(64, 64, 1), cell="convttlstm", **SMALL_ARCH, order=3, steps=3, rank=4,
                   output_sigmoid=False),
        description="A CPU-sized Conv-TT-LSTM for demos on Moving-MNIST-2 (2 cells of 16 channels, rank 4).",
        dataset=MNIST_DATA, future_frames=10, license="Apache-2.0",
        weights_note=TRAINING_TOOL_NOTE,
    ),
    "mmnist_convlstm_small": dict(
        model=dict(frame_shape=(64, 64, 1), cell="convlstm", **SMALL_ARCH, output_sigmoid=False),
        description="A CPU-sized ConvLSTM for demos on Moving-MNIST-2 (2 cells of 16 channels).",
        dataset=MNIST_DATA, future_frames=10, license="Apache-2.0",
        weights_note=TRAINING_TOOL_NOTE,
    ),
}

_KEEP_WITH_WEIGHTS = ("weights_sha256", "weights_file", "metrics", "training_command", "provenance",
                      "weights_note")
_NOT_ARCHITECTURE = ("name", "trainable", "dtype", "seed")


def build_model(name):
    """The preset's `VideoPredictor`, randomly initialised."""
    return VideoPredictor(name=name, context_frames=10, **PRESETS[name]["model"])


def metadata_of(name, model):
    """The preset's `metadata.json` content."""
    spec = dict(PRESETS[name])
    arch = spec.pop("model")
    metadata = {
        "name": name,
        "frame_shape": list(arch["frame_shape"]),
        "context_frames": 10,
        "num_params": model.count_params(),
        "architecture": {k: v for k, v in model.get_config().items() if k not in _NOT_ARCHITECTURE},
        "paper": PAPER,
        "source": f"configuration of the paper's network as in the official code ({OFFICIAL_REPO}, SPEC §3)",
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": None,
        "training_command": None,
        "metrics": [],
    }
    metadata.update(spec)
    return json.loads(json.dumps(metadata))


def model_card(metadata):
    """The preset's `README.md`."""
    name = metadata["name"]
    arch = metadata["architecture"]
    official = metadata.get("official_checkpoint")
    lines = [
        f"# {name}", "", metadata["description"], "",
        "| field | value |", "|---|---|",
        f"| dataset | {metadata['dataset']} |",
        f"| frame shape | {tuple(metadata['frame_shape'])} |",
        f"| context -> future frames | {metadata['context_frames']} -> {metadata['future_frames']} |",
        f"| cell | {arch['cell']} |",
        f"| layers per block / channels | {tuple(arch['layers_per_block'])} / "
        f"{tuple(arch['hidden_channels'])} |",
        f"| skip stride, kernel | {arch['skip_stride']}, {'x'.join(str(k) for k in arch['kernel_size'])} |",
    ]
    if arch["cell"] == "convttlstm":
        lines.append(f"| order, steps, rank | {arch['order']}, {arch['steps']}, {arch['rank']} |")
    lines += [
        f"| output sigmoid | {arch['output_sigmoid']} |",
        f"| parameters | {metadata['num_params']:,} |",
        f"| licence | {metadata['license']} |", "",
        "## Use", "", "```python", "from ctt_keras import zoo", "",
    ]
    if official:
        lines += [
            f'model = zoo.load("{name}", weights="path/to/{official["file"]}")'
            "  # first time: converts and caches",
            f'model = zoo.load("{name}")                                      # later: the cached conversion',
        ]
    elif metadata.get("weights_sha256"):
        lines.append(f'model = zoo.load("{name}")  # the weights in this folder, checked against their sha256')
    else:
        lines.append(f'model = zoo.load("{name}", weights=False)  # no weights yet: random initialisation')
    lines += [
        f"future = model.predict_frames(context, future_frames={metadata['future_frames']})"
        f"  # context [B, {metadata['context_frames']}, {', '.join(str(d) for d in metadata['frame_shape'])}]"
        " in [0, 1]",
        "```", "", "## Weights", "", metadata.get("weights_note", ""), "",
    ]
    if official:
        lines += [
            f"- Official checkpoint: `{official['file']}`, linked from {official['url']} "
            "(cannot be downloaded automatically: fetch it yourself).",
            f"- Licence of the weights: {official['license']}. Models built from them inherit it.",
            f"- {official['note']}", "",
        ]
    sections = (("metrics", "Metrics"), ("reference_metrics", "Reference metrics (not of weights here)"))
    for key, title in sections:
        if metadata.get(key):
            lines += [f"## {title}", ""]
            for m in metadata[key]:
                values = ", ".join(f"{k} {v}" for k, v in m["values"].items())
                lines.append(f"- {m['context_frames']} -> {m['future_frames']}: {values}. "
                             f"Split: {m['split']}. Source: {m['source']}.")
            lines += ["", f"Convention: {NVLABS_CONVENTION}.", ""]
    lines += ["## Citation", "", PAPER, ""]
    return "\n".join(lines)


def write(name, root):
    """Writes (or refreshes) one preset folder under `root`."""
    folder = pathlib.Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    model = build_model(name)
    metadata = metadata_of(name, model)
    if (folder / WEIGHTS_FILE).is_file() and (folder / METADATA_FILE).is_file():
        previous = json.loads((folder / METADATA_FILE).read_text())
        metadata.update({k: previous[k] for k in _KEEP_WITH_WEIGHTS if k in previous})
    config = keras.saving.serialize_keras_object(model)
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    (folder / MODEL_CARD_FILE).write_text(model_card(metadata))
    return folder


def main(argv=None):
    names = (sys.argv[1:] if argv is None else argv) or sorted(PRESETS)
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        raise SystemExit(f"unknown presets {unknown}; known: {sorted(PRESETS)}")
    for name in names:
        print(write(name, pathlib.Path(__file__).resolve().parent))


if __name__ == "__main__":
    main()
