"""Writes the built-in preset folders (config.json, metadata.json, README.md) from one table.

Usage (from the repository root):
    python zoo/_make_presets.py            # all presets
    python zoo/_make_presets.py NAME ...   # some

`config.json` is `keras.saving.serialize_keras_object(model)` of the preset's
model: a `VideoPredictor` unless the preset names another `model_class`
(`EarlyActivityRecognizer` for the Something-Something V2 presets). The model
card is written by `ctt_keras.zoo.model_card` (the one card generator, also used
by `save_preset`), and the metadata's `architecture` is the model's own
`get_config()`. A folder that already holds `model.weights.h5` keeps the
weights-related fields of its metadata (sha256, metrics, training command), so
regenerating never loses what training recorded.
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import keras  # noqa: E402

from ctt_keras.checkpoints.official import (  # noqa: E402
    EVAL_README, NVIDIA_LICENSE, OFFICIAL_REPO, published_download, published_page,
)
from ctt_keras.models import EarlyActivityRecognizer, VideoPredictor  # noqa: E402
from ctt_keras.models.early_activity_recognizer import DEFAULT_PREDICTION_WEIGHT  # noqa: E402
from ctt_keras.zoo import CONFIG_FILE, METADATA_FILE, MODEL_CARD_FILE, WEIGHTS_FILE, model_card  # noqa: E402
from ctt_keras.zoo.cards import PAPER  # noqa: E402
from pipelines.ssv2 import SUBSET_41_IDS, SUBSET_41_NOTE  # noqa: E402
PAPER_ARCH = dict(layers_per_block=(3, 3, 3, 3), hidden_channels=(32, 48, 48, 32), skip_stride=2,
                  kernel_size=5)
TT = dict(order=3, steps=3, rank=8)
# The small presets trained on the CPU (docs/results.md): PredRNN/OpenSTL-style 4x4 patches, 4 cells of 32.
SMALL_ARCH = dict(layers_per_block=(1, 1, 1, 1), hidden_channels=(32, 32, 32, 32), skip_stride=None,
                  kernel_size=5, patch_size=4)

MNIST_DATA = ("Moving-MNIST-2: two MNIST digits bouncing in a 64x64 canvas, 20-frame clips (the paper's "
              "Appendix B.4; docs/pipelines.md)")
KTH_DATA = ("KTH human actions, gray frames resized to 128x128; persons 1-16 train, 17-25 test (the paper's "
            "Appendix B.4; docs/pipelines.md)")
NVLABS_CONVENTION = (
    "nvlabs: predictions clamped to [0, 1]; per-frame MSE (x1e3, mean over pixels), PSNR (range 1), SSIM "
    "(skimage defaults, data range 2), LPIPS AlexNet v0.1 on [0, 1] inputs (x1e3); averaged over samples "
    "per future frame, then over frames (as the official evaluation, eval_paper/test.py; docs/metrics.md)"
)
PAPER_SOURCE = "reported in the paper's results tables; not re-measured by ctt_keras"
TRAINING_TOOL_NOTE = (
    "No weights are shipped yet: they are to be trained here with the project's training tool, which "
    "writes the preset folder (zoo.save_preset) with the command and measured metrics."
)


def _paper_metrics(mse=None, ssim=None, lpips=None, psnr=None, future=10, split=""):
    values = dict(mse_x1e3=mse, psnr=psnr, ssim=ssim, lpips_x1e3=lpips)
    values = {k: v for k, v in values.items() if v is not None}
    return {"values": values, "context_frames": 10, "future_frames": future, "split": split,
            "convention": NVLABS_CONVENTION, "source": PAPER_SOURCE}


# Early activity recognition on Something-Something V2: the paper gives an outline only (its Section 5 and
# the class-subset reconstruction in pipelines/ssv2.py), so every size below is this library's choice.
SSV2_DATA = (
    "Something-Something V2 (licence-gated: download it yourself), 41-class subset that is a "
    "RECONSTRUCTION, not the published list (the 5 'Putting' classes are a guess); frames squashed to "
    "64x64 RGB, each video resampled to 40 evenly spaced frames, the first 25% (10 frames) observed, the "
    "next 10 predicted (pipelines.ssv2)"
)
SSV2_CLASSES = {
    "num_classes": len(SUBSET_41_IDS),
    "subset": "subset41",
    "reconstruction": True,
    "note": SUBSET_41_NOTE,
    "ssv2_ids": list(SUBSET_41_IDS),
    "label_order": "logit k is SSv2 label id ssv2_ids[k] (pipelines.ssv2 remaps the labels to 0..40 in "
                   "this order; pipelines.ssv2.label_map gives the templates of prepared data)",
    "reference": "pipelines/ssv2.py (SUBSET_41_IDS, SUBSET_41_NOTE), docs/pipelines.md",
}
SSV2_CLIPS = {
    "frame_size": [64, 64], "channels": "RGB", "resize": "squashed (area interpolation)",
    "num_frames": 40, "resampling": "floor(k * N / 40) for k = 0..39 (short videos repeat frames)",
    "observed_fraction": 0.25, "context_frames": 10, "future_frames": 10,
    "pipeline": "pipelines.ssv2.load(data_dir, split, observed_fraction=0.25, num_frames=40, "
                "future_frames=10)",
}
SSV2_PAPER_OUTLINE = (
    "two-layer 2D-conv encoder and decoder, eight recurrent layers, a classifier of two 2D-conv layers and "
    "one fully-connected layer on the last recurrent layer's output; loss = lambda * prediction loss + "
    "cross-entropy; the first 25% or 50% of the frames observed, the next 10 predicted"
)
SSV2_SOURCE = (
    "the paper's outline only (" + SSV2_PAPER_OUTLINE + "); no official configuration or code for this "
    "experiment is available here, so every size (encoder/decoder and classifier channels, cells per block, "
    "hidden channels, kernel, rank) and lambda are ctt_keras's choices (EarlyActivityRecognizer defaults)"
)
SSV2_LOSS = {
    "prediction_weight": DEFAULT_PREDICTION_WEIGHT,
    "objective": f"{DEFAULT_PREDICTION_WEIGHT:g} * (L1 + L2 of the one-step frame predictions) + sparse "
                 "categorical cross-entropy of the logits",
    "source": "the default of EarlyActivityRecognizer.compile(); the paper does not publish its lambda",
}
SSV2_WEIGHTS_NOTE = (
    "No weights: Something-Something V2 is licence-gated and could not be trained on here, and no official "
    "checkpoint of this experiment is available. This preset is a configuration only: load it with "
    "weights=False and train it on your own copy of the data (pipelines.ssv2.load gives the (clip, label) "
    "examples). No accuracy is recorded: the paper's SSv2 accuracies are not in the reference material "
    "here, and none were measured."
)
SSV2_ARCH = dict(frame_shape=(64, 64, 3), num_classes=len(SUBSET_41_IDS), encoder_channels=(32, 64),
                 layers_per_block=(2, 2, 2, 2), hidden_channels=(32, 48, 48, 32), skip_stride=2,
                 kernel_size=5, classifier_channels=(64, 128), output_sigmoid=True, future_frames=10)


def _ssv2_preset(cell, description):
    tt = TT if cell == "convttlstm" else {}
    return dict(
        model_class=EarlyActivityRecognizer,
        model=dict(cell=cell, **SSV2_ARCH, **tt),
        description=description,
        task="early activity recognition",
        dataset=SSV2_DATA, classes=SSV2_CLASSES, clips=SSV2_CLIPS, future_frames=10,
        loss=SSV2_LOSS, paper_outline=SSV2_PAPER_OUTLINE, source=SSV2_SOURCE,
        license="Apache-2.0 (configuration; no weights)",
        weights_note=SSV2_WEIGHTS_NOTE,
    )


MNIST_SPLIT = "Moving-MNIST-2 test set of the official code (moving-mnist-test.npz, 10,000 clips)"
KTH_SPLIT = "KTH test persons 17-25, non-overlapping clips, 128x128 gray"

PRESETS = {
    "mmnist_convttlstm": dict(
        model=dict(frame_shape=(64, 64, 1), cell="convttlstm", **PAPER_ARCH, **TT, output_sigmoid=False),
        description="The paper's Conv-TT-LSTM network for Moving-MNIST-2 "
                    "(12 cells, order 3, steps 3, rank 8).",
        dataset=MNIST_DATA, future_frames=10, license=NVIDIA_LICENSE,
        official_checkpoint={
            "file": "convttlstm-mnist.pt", "url": published_page("convttlstm-mnist.pt"),
            "download_url": published_download("convttlstm-mnist.pt"), "page": EVAL_README,
            "output_sigmoid": False, "license": NVIDIA_LICENSE,
            "sha256": None,
            "note": "Published by NVIDIA (the Google Drive link in eval_paper/README.md). Its sha256 is not "
                    "published, so the conversion is checked structurally instead (every parameter name "
                    "and shape, and the architecture inferred from them); the sha256 of the .pt actually "
                    "converted is recorded beside the cached weights.",
        },
        metrics=[_paper_metrics(mse=12.96, ssim=0.915, lpips=40.54, split=MNIST_SPLIT),
                 _paper_metrics(mse=25.81, ssim=0.840, lpips=90.38, future=30, split=MNIST_SPLIT)],
        weights_note="Weights: the official convttlstm-mnist.pt, fetched and converted without torch on "
                     "first load.",
    ),
    "kth_convttlstm": dict(
        model=dict(frame_shape=(128, 128, 1), cell="convttlstm", **PAPER_ARCH, **TT, output_sigmoid=False),
        description="The paper's Conv-TT-LSTM network for KTH at 128x128 "
                    "(12 cells, order 3, steps 3, rank 8).",
        dataset=KTH_DATA, future_frames=20, license=NVIDIA_LICENSE,
        official_checkpoint={
            "file": "convttlstm-kth.pt", "url": published_page("convttlstm-kth.pt"),
            "download_url": published_download("convttlstm-kth.pt"), "page": EVAL_README,
            "output_sigmoid": False, "license": NVIDIA_LICENSE,
            "sha256": None,
            "note": "Published by NVIDIA (the Google Drive link in eval_paper/README.md). The KTH training "
                    "scripts use a sigmoid output, but the published checkpoint is evaluated without one "
                    "(eval_paper/test.py builds the network without an output sigmoid), so output_sigmoid "
                    "is False. The official evaluation reads 120x120 frames upsampled to 128x128. Checked "
                    "structurally on conversion (no sha256 is published).",
        },
        metrics=[_paper_metrics(psnr=28.36, ssim=0.907, lpips=133.4, future=20, split=KTH_SPLIT)],
        weights_note="Weights: the official convttlstm-kth.pt, fetched and converted without torch on "
                     "first load.",
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
        model=dict(frame_shape=(64, 64, 1), cell="convttlstm", **SMALL_ARCH, order=3, steps=3, rank=8,
                   output_sigmoid=False),
        description="A CPU-trained Conv-TT-LSTM for Moving-MNIST-2: 4x4 patches folded into channels, 4 cells "
                    "of 32 channels (order 3, steps 3, rank 8); fewer parameters than its ConvLSTM twin "
                    "mmnist_convlstm_small, trained with the same budget.",
        dataset=MNIST_DATA, future_frames=10, license="Apache-2.0",
        weights_note=TRAINING_TOOL_NOTE,
    ),
    "mmnist_convlstm_small": dict(
        model=dict(frame_shape=(64, 64, 1), cell="convlstm", **SMALL_ARCH, output_sigmoid=False),
        description="The ConvLSTM twin of mmnist_convttlstm_small for Moving-MNIST-2: 4x4 patches folded into "
                    "channels, 4 ConvLSTM cells of 32 channels, trained with the same budget.",
        dataset=MNIST_DATA, future_frames=10, license="Apache-2.0",
        weights_note=TRAINING_TOOL_NOTE,
    ),
    "ssv2_convttlstm": _ssv2_preset(
        "convttlstm",
        "Early activity recognition on Something-Something V2 (41 classes): the paper's outline with "
        "ctt_keras's sizes; 2D-conv encoder/decoder, 8 Conv-TT-LSTM cells (order 3, steps 3, rank 8), "
        "2D-conv + fully-connected classifier. Configuration only.",
    ),
    "ssv2_convlstm": _ssv2_preset(
        "convlstm",
        "The ConvLSTM baseline of ssv2_convttlstm: the same early-activity-recognition network with 8 "
        "ConvLSTM cells. Configuration only.",
    ),
}

_KEEP_WITH_WEIGHTS = ("weights_sha256", "weights_file", "metrics", "training_command", "provenance",
                      "weights_note", "training_clips", "training_wall_time", "trained_on", "prediction_gif",
                      "prediction_gif_note", "baselines")
_NOT_ARCHITECTURE = ("name", "trainable", "dtype", "seed")


def model_class_of(name):
    """The preset's model class: `VideoPredictor` unless its entry names another `model_class`."""
    return PRESETS[name].get("model_class", VideoPredictor)


def build_model(name):
    """The preset's model (`model_class_of(name)`), randomly initialised."""
    return model_class_of(name)(name=name, context_frames=10, **PRESETS[name]["model"])


def metadata_of(name, model):
    """The preset's `metadata.json` content."""
    spec = dict(PRESETS[name])
    arch = spec.pop("model")
    spec.pop("model_class", None)  # config.json names the class
    metadata = {
        "name": name,
        "frame_shape": list(arch["frame_shape"]),
        "context_frames": 10,
        "num_params": model.count_params(),
        "architecture": {k: v for k, v in model.get_config().items() if k not in _NOT_ARCHITECTURE},
        "paper": PAPER,
        "source": f"configuration of the paper's network as in the official code ({OFFICIAL_REPO}, "
                  "code/convlstmnet.py)",
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": None,
        "training_command": None,
        "metrics": [],
    }
    metadata.update(spec)
    return json.loads(json.dumps(metadata))


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
    (folder / MODEL_CARD_FILE).write_text(model_card(metadata, config))
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
