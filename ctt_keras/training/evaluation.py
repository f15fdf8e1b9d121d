"""Evaluating a trained network on a dataset of `ctt_keras.pipelines.datasets`, and loading it (TensorFlow).

What `tools/train.py` does after training and `tools/evaluate.py` does with a preset: per-frame metric curves
for a `VideoPredictor`, accuracy and imagined-frame error for an `EarlyActivityRecognizer`, written as JSON, a
Markdown table, plots and a prediction GIF.
"""

import os

from ctt_keras.training import architecture, data, recognition, runner


def load_model(preset=None, weights=None):
    """The model of a zoo preset (by name) or of a preset folder (config.json + weights), or None."""
    from ctt_keras import zoo

    if weights:
        return zoo.load_preset_dir(weights)
    if preset:
        return zoo.load(preset)
    return None


def check_model_for(model, dataset, classes=None):
    """The model must be the network `dataset`'s task trains (and know its classes); raises ValueError."""
    module = data.datasets.get(dataset)
    expected = architecture.model_for_task(module.TASK)
    if not isinstance(model, expected):
        other = [name for name in data.datasets.names()
                 if isinstance(model, architecture.model_for_task(data.datasets.get(name).TASK))]
        if module.TASK == "recognition":
            raise ValueError(f"--dataset {dataset} trains an {expected.__name__}; the given preset is a "
                             f"{type(model).__name__}")
        raise ValueError(f"the given preset is an {type(model).__name__}; it trains on --dataset "
                         f"{' or '.join(other)} only")
    if classes is not None and model.num_classes != len(classes):
        raise ValueError(f"the given preset has {model.num_classes} classes but the prepared data has "
                         f"{len(classes)} (--classes)")


def evaluate_predictor(model, config, split, context_frames, horizons, num_sequences, out_paths,
                       convention="nvlabs", metrics=None, batch_size=16, jit_compile=False, extra=None,
                       progress=False, baselines=False, name="network"):
    """Per-frame metric curves of a `VideoPredictor` on the first clips of a split; writes the outputs.

    Args:
        model: A `VideoPredictor`.
        config: The dataset's settings (see `ctt_keras.pipelines.datasets`).
        split: "test" or "validation".
        context_frames: Frames read before predicting.
        horizons: Future lengths evaluated from one rollout, e.g. `(10, 30)`.
        num_sequences: Clips evaluated (the first of the split).
        out_paths: Dict with `json`, `markdown`, `png`, `gif` (paths; a missing key is not written).
        convention, metrics: As for `ctt_keras.metrics.evaluate`.
        batch_size, jit_compile: Of the rollout.
        extra: More entries for the JSON file.
        progress: Show progress bars while reading and predicting.
        baselines: Also evaluate the trivial predictors of
            `ctt_keras.training.comparison.BASELINES` (black frames, the last
            context frame repeated) on the same clips; the table then has a row per
            predictor and horizon (named `name` for the network) and the JSON a
            `baselines` entry.
        name: The network's row name when `baselines` is set.

    Returns:
        `(results, table, num_sequences)`: the `evaluate_horizons` results and the Markdown table.
    """
    clips = data.fixed_clips(config, split, context_frames + max(horizons), num_sequences, progress=progress)
    if tuple(clips.shape[2:]) != tuple(model.frame_shape):
        raise ValueError(f"{config['dataset']} frames are {clips.shape[2:]} but the model expects "
                         f"{tuple(model.frame_shape)}")
    results, arrays = runner.evaluate_horizons(
        model, clips, context_frames, horizons, convention=convention, metrics=metrics, batch_size=batch_size,
        jit_compile=jit_compile, progress=progress)
    _make_folders(out_paths)
    extra = {"split": split, "num_sequences": len(clips), **(extra or {})}
    if baselines:
        from ctt_keras.training import comparison

        others, _ = comparison.compare(comparison.BASELINES, clips, context_frames, horizons, convention=convention,
                                       metrics=metrics, batch_size=batch_size)
        extra["baselines"] = {b: runner.results_to_json(r) for b, r in others.items()}
    table = runner.write_evaluation(results, out_paths.get("json"), out_paths.get("markdown"),
                                    out_paths.get("png"), extra=extra)
    if baselines:
        table = comparison.comparison_table({name: results, **others}, {name: model.count_params()})
        if out_paths.get("markdown"):
            with open(out_paths["markdown"], "w") as f:
                f.write(f"{convention} convention, first {len(clips)} clips of the {split} split\n\n{table}\n")
    if out_paths.get("gif"):
        runner.write_prediction_gif(out_paths["gif"], *arrays)
    return results, table, len(clips)


def predictor_summary(results, split, num_sequences, convention):
    """The metrics a preset's metadata.json records from `evaluate_predictor` results."""
    return {"split": split, "num_sequences": num_sequences,
            **{k: r["means"] for k, r in runner.results_to_json(results).items()}, "convention": convention}


def evaluate_recognizer(model, config, classes, out_paths, batch_size=16, extra=None, progress=False):
    """Accuracy and imagined-frame error of an `EarlyActivityRecognizer` on a dataset's test clips.

    Args:
        model: An `EarlyActivityRecognizer`.
        config: The dataset's settings (`eval_sequences` clips are evaluated).
        classes: The dataset's label map (`classes(config)` of its module).
        out_paths: Dict with `json`, `markdown`, `gif`.
        batch_size: Clips per batch.
        extra: More entries for the JSON file.
        progress: Show a progress bar.

    Returns:
        `(table, summary)`: the Markdown table and the metrics a preset's metadata.json records.
    """
    module = data.dataset_module(config)
    context, future = int(config["context_frames"]), int(config["future_frames"])
    clips = data.clip_dataset(config, "test", context + future, num_sequences=int(config["eval_sequences"]))
    result, arrays = recognition.evaluate_recognition(
        model, clips.batch(int(batch_size)).as_numpy_iterator(), context, future,
        class_names=module.class_names(classes), class_groups=module.class_groups(classes), progress=progress)
    _make_folders(out_paths)
    options = {option.name: config[option.name] for option in module.OPTIONS if option.name != "manual_dir"}
    table = recognition.write_recognition(
        result, out_paths.get("json"), out_paths.get("markdown"),
        extra={"split": module.TEST_SPLIT, **options, **(extra or {})})
    if out_paths.get("gif"):
        runner.write_prediction_gif(out_paths["gif"], *arrays)
    keys = [k for k in result if k.endswith("accuracy")]
    summary = {"split": module.TEST_SPLIT, "num_sequences": result["num_sequences"],
               **{k: result[k] for k in keys},
               "frames": {k: v for k, v in result["frames"].items() if not k.endswith("per_frame")}}
    return table, summary


def _make_folders(paths):
    for path in paths.values():
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)


def output_paths(folder, names=("json", "markdown", "png", "gif")):
    """The standard file names of an evaluation folder."""
    files = {"json": "metrics.json", "markdown": "metrics.md", "png": "curves.png", "gif": "prediction.gif"}
    return {key: os.path.join(folder, files[key]) for key in names}
