"""The one model-card generator: the `README.md` of every preset, built-in or saved by a user.

The card is written from the preset's `metadata.json` and `config.json` alone, so
the built-in presets (`zoo/_make_presets.py`), `save_preset` and the training
command all produce the same kind of card. Rows whose metadata is absent are left
out.
"""

import json

PAPER = (
    "Su, Byeon, Kossaifi, Huang, Kautz, Anandkumar: Convolutional Tensor-Train LSTM for Spatio-Temporal "
    "Learning, NeurIPS 2020 (arXiv:2002.09131)"
)


def model_card(metadata, config):
    """The `README.md` text of a preset.

    Args:
        metadata: The preset's metadata dict (`metadata.json`).
        config: The serialised model (`config.json`): its class chooses the card's
            layout, its `config` gives the architecture rows.

    Returns:
        Markdown text.
    """
    if config.get("class_name") == "EarlyActivityRecognizer":
        return _recognizer_card(metadata, config["config"])
    return _predictor_card(metadata, config.get("config", {}))


def _name(metadata, arch):
    return metadata.get("name") or arch.get("name") or "preset"


def _recurrent_rows(arch):
    """Card rows of the recurrent stack, shared by both model classes."""
    kernel = arch.get("kernel_size")
    kernel = "x".join(str(k) for k in kernel) if isinstance(kernel, (list, tuple)) else kernel
    rows = [
        f"| cell | {arch.get('cell')} |",
        f"| layers per block / channels | {tuple(arch.get('layers_per_block', ()))} / "
        f"{tuple(arch.get('hidden_channels', ()))} |",
        f"| skip stride, kernel | {arch.get('skip_stride')}, {kernel} |",
    ]
    if arch.get("cell") == "convttlstm":
        rows.append(f"| order, steps, rank | {arch.get('order')}, {arch.get('steps')}, {arch.get('rank')} |")
    if arch.get("patch_size", 1) != 1:
        p = arch["patch_size"]
        rows.append(f"| patch size | {p} ({p}x{p} pixels folded into channels before the cells) |")
    return rows


def _use_lines(name, metadata):
    official = metadata.get("official_checkpoint")
    if official:
        file = official["file"]
        return [
            f'model = zoo.load("{name}")  # first use: fetches NVIDIA\'s {file}, converts and caches it',
            f'model = zoo.load("{name}", weights="path/to/{file}")  # or from a copy you downloaded',
        ]
    if metadata.get("weights_sha256"):
        return [f'model = zoo.load("{name}")  # the weights in this folder, checked against their sha256']
    return [f'model = zoo.load("{name}", weights=False)  # no weights yet: random initialisation']


def _metrics_sections(metadata):
    lines = []
    sections = (("metrics", "Metrics"), ("reference_metrics", "Reference metrics (not of weights here)"))
    for key, title in sections:
        entries = metadata.get(key)
        if not entries:
            continue
        lines += [f"## {title}", ""]
        if isinstance(entries, dict):  # as the training command records them: one evaluation
            lines += ["```json", json.dumps(entries, indent=2, sort_keys=True), "```", ""]
            continue
        for m in entries:
            values = ", ".join(f"{k} {v}" for k, v in m["values"].items())
            lines.append(f"- {m['context_frames']} -> {m['future_frames']}: {values}. "
                         f"Split: {m['split']}. Source: {m['source']}.")
        conventions = sorted({m["convention"] for m in entries if m.get("convention")})
        lines += [""] + [f"Convention: {c}." for c in conventions] + ([""] if conventions else [])
    return lines


def _predictor_card(metadata, arch):
    name = _name(metadata, arch)
    frame_shape = metadata.get("frame_shape", arch.get("frame_shape"))
    context = metadata.get("context_frames", arch.get("context_frames"))
    future = metadata.get("future_frames")
    lines = [f"# {name}", "", metadata.get("description", "A ctt_keras VideoPredictor preset."), "",
             "| field | value |", "|---|---|"]
    if "dataset" in metadata:
        lines.append(f"| dataset | {metadata['dataset']} |")
    lines.append(f"| frame shape | {tuple(frame_shape)} |")
    if future is not None:
        lines.append(f"| context -> future frames | {context} -> {future} |")
    lines += _recurrent_rows(arch)
    lines.append(f"| output sigmoid | {arch.get('output_sigmoid')} |")
    if "num_params" in metadata:
        lines.append(f"| parameters | {metadata['num_params']:,} |")
    if "license" in metadata:
        lines.append(f"| licence | {metadata['license']} |")
    lines += ["", "## Use", "", "```python", "from ctt_keras import zoo", "", *_use_lines(name, metadata)]
    shape = ", ".join(str(d) for d in frame_shape)
    lines += [
        f"future = model.predict_frames(context, future_frames={future or 10})"
        f"  # context [B, {context}, {shape}] in [0, 1]",
        "```", "",
    ]
    if metadata.get("weights_note") or metadata.get("official_checkpoint"):
        lines += ["## Weights", "", metadata.get("weights_note", ""), ""]
    official = metadata.get("official_checkpoint")
    if official:
        lines += [
            f"- Official checkpoint: `{official['file']}`, published by NVIDIA at {official['url']} "
            f"(linked from {official['page']}). Fetched on first use into the Keras cache, or from "
            f"`$CTT_KERAS_WEIGHTS_MIRROR/{official['file']}` when that variable is set.",
            f"- Licence of the weights: {official['license']}. Models built from them inherit it.",
            f"- {official['note']}", "",
        ]
    if metadata.get("prediction_gif"):
        lines += ["## Predictions", "", f"![context, truth and prediction]({metadata['prediction_gif']})", "",
                  metadata.get("prediction_gif_note", ""), ""]
    if metadata.get("training_command"):
        lines += ["## Training", "", "```", metadata["training_command"], "```", ""]
        facts = [(key, label) for key, label in (("training_clips", "training clips"),
                                                 ("training_wall_time", "wall time"),
                                                 ("trained_on", "trained on")) if metadata.get(key)]
        for key, label in facts:
            value = metadata[key]
            lines.append(f"- {label}: {f'{value:,}' if isinstance(value, int) else value}")
        if facts:
            lines.append("")
        if metadata.get("provenance"):
            lines += [metadata["provenance"], ""]
    lines += _metrics_sections(metadata)
    lines += ["## Citation", "", metadata.get("paper", PAPER), ""]
    return "\n".join(lines)


def _recognizer_card(metadata, arch):
    """The card of an `EarlyActivityRecognizer` preset: recognition, its data and what is whose."""
    name = _name(metadata, arch)
    classes, clips, loss = metadata.get("classes"), metadata.get("clips"), metadata.get("loss")
    if not (isinstance(classes, dict) and "ssv2_ids" in classes and clips and loss):
        return _trained_recognizer_card(metadata, arch)
    height, width, channels = metadata["frame_shape"]
    encoder = tuple(arch["encoder_channels"])
    decoder = tuple(reversed(encoder[:-1])) + (channels,)
    cells = sum(arch["layers_per_block"])
    context, future = metadata["context_frames"], metadata["future_frames"]
    shape = f"{height}, {width}, {channels}"
    rank = "rank, " if arch["cell"] == "convttlstm" else ""
    lines = [
        f"# {name}", "", metadata["description"], "",
        "| field | value |", "|---|---|",
        f"| task | {metadata['task']} |",
        "| dataset | Something-Something V2 (licence-gated; see Data) |",
        f"| classes | {classes['num_classes']}: a reconstruction of the paper's subset, not the published "
        "list (see Data) |",
        f"| frame shape | {tuple(metadata['frame_shape'])} |",
        f"| observed -> predicted frames | {context} ({clips['observed_fraction']:.0%} of "
        f"{clips['num_frames']} resampled frames) -> {future} |",
        f"| encoder / decoder | 2D convs {encoder} (3x3, stride 2, ReLU) / transposed 2D convs {decoder} |",
        *_recurrent_rows(arch),
        f"| cells | {cells} |",
        f"| classifier | 2D convs {tuple(arch['classifier_channels'])} (3x3, stride 2, ReLU) on the last "
        f"cell's output, then one fully-connected layer -> {arch['num_classes']} logits |",
        f"| output sigmoid (frames) | {arch['output_sigmoid']} |",
        f"| loss | {loss['objective']} |",
        f"| parameters | {metadata['num_params']:,} |",
        f"| licence | {metadata['license']} |", "",
        "## Use", "", "```python", "from ctt_keras import zoo", "",
        f'model = zoo.load("{name}", weights=False)  # no weights: random initialisation',
        f"out = model.recognize(context)  # context [B, {context}, {shape}] in [0, 1]",
        f'out["logits"]  # [B, {classes["num_classes"]}]: logit k is SSv2 label id '
        "pipelines.ssv2.SUBSET_41_IDS[k]",
        f'out["frames"]  # [B, {future}, {shape}]: the frames imagined before classifying',
        "```", "",
        "Training on your own copy of the data:", "",
        "```python", "import pipelines", "from ctt_keras import zoo", "",
        f'model = zoo.load("{name}", weights=False, compile=True)  # Adam; '
        f'{loss["prediction_weight"]:g} * (L1 + L2) + cross-entropy',
        f'train = pipelines.ssv2.load(data_dir, "train", observed_fraction={clips["observed_fraction"]}, '
        f'num_frames={clips["num_frames"]}, future_frames={future}, manual_dir=ssv2_dir)',
        "model.fit(train.batch(8), epochs=...)  # (clip, label) examples; top-1 / top-5 accuracy as metrics",
        "```", "",
        "## Data", "",
        f"- {metadata['dataset']}.",
        f"- Classes: {classes['note']}. SSv2 label ids in logit order: "
        f"{', '.join(str(i) for i in classes['ssv2_ids'])}. See {classes['reference']}.",
        f"- Clips: {clips['frame_size'][0]}x{clips['frame_size'][1]} {clips['channels']}, {clips['resize']}; "
        f"{clips['num_frames']} frames per video, {clips['resampling']}; the first {context} observed, "
        f"the next {future} predicted.", "",
        "## What is the paper's and what is ctt_keras's", "",
        f"- The paper gives only the outline: {metadata['paper_outline']}.",
        f"- Every size in the table (encoder/decoder, cells per block and their channels, kernel, {rank}"
        f"classifier) is ctt_keras's choice, and so is lambda = {loss['prediction_weight']:g} "
        f"({loss['source']}).",
        "- No metrics are recorded: there are no weights to measure, and the paper's SSv2 accuracies are not "
        "copied here.",
        "", "## Weights", "", metadata["weights_note"], "",
        "## Citation", "", metadata.get("paper", PAPER), "",
    ]
    return "\n".join(lines)


def _trained_recognizer_card(metadata, arch):
    """The card of a recognizer preset written by training (its classes are a label map, not the table)."""
    name = _name(metadata, arch)
    frame_shape = metadata.get("frame_shape", arch.get("frame_shape"))
    lines = [f"# {name}", "", metadata.get("description", "A ctt_keras EarlyActivityRecognizer preset."), "",
             "| field | value |", "|---|---|", "| task | early activity recognition |"]
    if "dataset" in metadata:
        lines.append(f"| dataset | {metadata['dataset']} |")
    lines += [f"| frame shape | {tuple(frame_shape)} |", f"| classes | {arch.get('num_classes')} |",
              *_recurrent_rows(arch)]
    if "license" in metadata:
        lines.append(f"| licence | {metadata['license']} |")
    lines += ["", "## Use", "", "```python", "from ctt_keras import zoo", "", *_use_lines(name, metadata),
              "out = model.recognize(context)  # {'logits': ..., 'frames': ...}", "```", ""]
    if metadata.get("training_command"):
        lines += ["## Training", "", "```", metadata["training_command"], "```", ""]
    lines += _metrics_sections(metadata)
    lines += ["## Citation", "", metadata.get("paper", PAPER), ""]
    return "\n".join(lines)
