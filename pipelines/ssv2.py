"""Something-Something V2 for early activity recognition: JSON readers, class subsets, a TFDS builder
over the `<id>.webm` videos, and a loader of (clip, label) examples.

The default class subset is a **reconstruction** of the paper's 41 classes (see `SUBSET_41_IDS`); the
published list is not available. Labels are remapped to `0..K-1` in the order of the subset; the mapping
(SSv2 id and template per new label) is saved with the prepared data (`label_map`).

Stored data (builder config): every frame of every video of the subset, resized (squashed, area
interpolation) to `frame_size` (64x64 RGB by default), JPEG-encoded. Examples (`load`): each video is
resampled to `num_frames` (40) evenly spaced frames (index `floor(k * N / num_frames)`, repeating frames
of short videos); the first `round(observed_fraction * num_frames)` frames (25 % -> 10, 50 % -> 20) are the
observed context, the next `future_frames` (10) are the prediction targets; the clip is their
concatenation, yielded with the label.
"""

import dataclasses
import hashlib
import json
import os
import pathlib

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from . import _tfds_base, datasets, failures, video
from . import clips as clip_ops

LABELS_FILE = "something-something-v2-labels.json"
SPLIT_FILES = {"train": "something-something-v2-train.json",
               "validation": "something-something-v2-validation.json"}
VIDEO_FOLDERS = ("20bn-something-something-v2", "videos", ".")
NUM_CLASSES = 174

# Reconstruction (NOT the published list) of the 41-class subset; see docs/pipelines.md and
# shared/reference/ssv2_subset.md: Dropping, Holding, Moving left-to-right, Moving right-to-left,
# Picking, Poking, Pouring, Putting (a guess), Showing, Tearing.
SUBSET_41_IDS = (8, 9, 10, 11, 12, 16, 17, 18, 19, 20, 86, 93, 87, 94, 47, 51, 52, 53, 54, 55, 56, 57, 58,
                 59, 60, 61, 62, 104, 105, 106, 107, 112, 124, 125, 126, 127, 128, 129, 130, 149, 150)
SUBSET_41_NOTE = ("reconstruction of the 41-class subset of Goyal et al. used by E3D-LSTM and Conv-TT-LSTM; "
                  "the published list is not available, the 5 'Putting' classes are a guess")
# The paper's 10 activities (the columns of its Table 1) and the subset's classes in each.
ACTIVITY_GROUPS = {
    "Dropping": (8, 9, 10, 11, 12),
    "Holding": (16, 17, 18, 19, 20),
    "Moving left-to-right": (86, 93),
    "Moving right-to-left": (87, 94),
    "Picking": (47,),
    "Poking": (51, 52, 53, 54, 55, 56, 57, 58),
    "Pouring": (59, 60, 61, 62),
    "Putting": (104, 105, 106, 107, 112),
    "Showing": (124, 125, 126, 127, 128, 129, 130),
    "Tearing": (149, 150),
}

MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Something-Something V2 is licence-gated and is not downloaded automatically.
Register at https://developer.qualcomm.com/software/ai-datasets/something-something (20BN), download
the video archive and the label files, and place in the manual folder (`manual_dir`):
  - something-something-v2-labels.json, something-something-v2-train.json,
    something-something-v2-validation.json;
  - the videos `<id>.webm`, in a sub-folder `20bn-something-something-v2/` (as extracted) or directly.
"""


@dataclasses.dataclass(eq=False)
class Ssv2Config(tfds.core.BuilderConfig):
    """Builder configuration: which classes and at what frame size the videos are stored.

    Attributes:
        class_ids: SSv2 label ids (0..173) of the subset, in the order of the new labels 0..K-1.
        frame_size: `(height, width)` of the stored frames.
        note: a sentence stored in the dataset's metadata (e.g. that the subset is a reconstruction).

    Example:
    ```python
    config = Ssv2Config(name="three", class_ids=(16, 47, 149), frame_size=(64, 64), note="mine")
    ```
    """

    class_ids: tuple = SUBSET_41_IDS
    frame_size: tuple = (64, 64)
    note: str = ""


SUBSET_41 = Ssv2Config(name="subset41", description="41-class subset (reconstruction), 64x64 RGB",
                       class_ids=SUBSET_41_IDS, note=SUBSET_41_NOTE)
ALL_174 = Ssv2Config(name="all174", description="all 174 classes, 64x64 RGB",
                     class_ids=tuple(range(NUM_CLASSES)), note="all 174 SSv2 classes")


def make_config(classes, frame_size=(64, 64), labels_path=None):
    """Makes a builder configuration for a user-chosen class list or frame size.

    Args:
        classes: `"subset41"` (the reconstruction), `"all"`, or a list of SSv2 label ids (ints) or
            templates (strings, with or without brackets; needs `labels_path`).
        frame_size: `(height, width)` of the stored frames.
        labels_path: `something-something-v2-labels.json`, to look templates up.

    Returns:
        An `Ssv2Config` whose name encodes the choice (`"subset41"`, `"all174"`, or
        `"custom_<hash>"`, with `_<h>x<w>` appended for a non-default frame size).

    Example:
    ```python
    config = make_config([16, 47, 149], frame_size=(128, 128))
    ```
    """
    if classes == "subset41":
        ids, note = SUBSET_41_IDS, SUBSET_41_NOTE
    elif classes == "all":
        ids, note = tuple(range(NUM_CLASSES)), "all 174 SSv2 classes"
    else:
        ids, note = _resolve_classes(classes, labels_path), "user-chosen class list"
    frame_size = tuple(int(v) for v in frame_size)
    if len(frame_size) != 2 or min(frame_size) < 1:
        raise ValueError(f"frame_size must be (height, width) of positive ints, got {frame_size!r}")
    if ids == SUBSET_41_IDS:
        name = "subset41"
    elif ids == tuple(range(NUM_CLASSES)):
        name = "all174"
    else:
        name = "custom_" + hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:10]
    if frame_size != (64, 64):
        name += f"_{frame_size[0]}x{frame_size[1]}"
    elif name in ("subset41", "all174"):
        # TFDS refuses a config that shares a predefined config's name but not its fields.
        return SUBSET_41 if name == "subset41" else ALL_174
    return Ssv2Config(name=name, description=f"{len(ids)} classes, {frame_size} RGB", class_ids=ids,
                      frame_size=frame_size, note=note)


def _resolve_classes(classes, labels_path):
    if isinstance(classes, (str, bytes)) or not classes:
        raise ValueError(f"classes must be 'subset41', 'all' or a non-empty list, got {classes!r}")
    templates = read_labels(labels_path) if labels_path is not None else None
    ids = []
    for item in classes:
        if isinstance(item, (int, np.integer)) and 0 <= int(item) < NUM_CLASSES:
            ids.append(int(item))
        elif isinstance(item, str) and templates is not None:
            key = strip_brackets(item)
            if key not in templates:
                raise ValueError(f"class template {item!r} is not in {labels_path}")
            ids.append(templates[key])
        else:
            raise ValueError(f"class {item!r} is neither an SSv2 id in 0..{NUM_CLASSES - 1} nor a "
                             f"template (templates need labels_path)")
    if len(set(ids)) != len(ids):
        raise ValueError(f"classes contains duplicates: {ids}")
    return tuple(ids)


def strip_brackets(template):
    """Removes the placeholder brackets of a template, as the labels file spells templates.

    Args:
        template: a template from a train/validation file, e.g. `"Holding [something]"`.

    Returns:
        The template without brackets.

    Example:
    ```python
    strip_brackets("Putting [something] onto [something]")  # "Putting something onto something"
    ```
    """
    return template.replace("[", "").replace("]", "")


def read_labels(path):
    """Reads `something-something-v2-labels.json` (template -> id as a string).

    Args:
        path: path of the labels file.

    Returns:
        A dict template (without brackets) -> int id.

    Raises:
        FileNotFoundError: if the file does not exist (with the manual-download instructions).
        ValueError: if it is not a JSON object of template -> integer string.

    Example:
    ```python
    read_labels("something-something-v2-labels.json")["Holding something"]  # 16
    ```
    """
    data = _read_json(path)
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: expected a JSON object template -> id, got {type(data).__name__}")
    labels = {}
    for template, value in data.items():
        if not str(value).isdigit():
            raise ValueError(f"{path}: id of {template!r} is {value!r}, expected an integer string")
        labels[strip_brackets(template)] = int(value)
    return labels


def read_split(path, labels):
    """Reads a train/validation JSON list into `(video id, SSv2 label id)` pairs.

    Args:
        path: path of `something-something-v2-{train,validation}.json`.
        labels: the dict from `read_labels`.

    Returns:
        A list of `(video_id: str, label_id: int)`.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if an entry lacks `id` or `template`, or its template is not in `labels` (the message
            names the file and the entry's index).

    Example:
    ```python
    read_split("something-something-v2-validation.json", labels)[0]  # ("74225", 41)
    ```
    """
    data = _read_json(path)
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of videos, got {type(data).__name__}")
    pairs = []
    for index, entry in enumerate(data):
        for key in ("id", "template"):
            if not isinstance(entry, dict) or key not in entry:
                raise ValueError(f"{path}: entry {index} has no {key!r} field: {entry!r}")
        template = strip_brackets(entry["template"])
        if template not in labels:
            raise ValueError(f"{path}: entry {index} (id {entry['id']}) has template {template!r}, "
                             f"which is not in the labels file")
        pairs.append((str(entry["id"]), labels[template]))
    return pairs


def _read_json(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Something-Something V2 file not found: {path}\n"
                                f"{MANUAL_DOWNLOAD_INSTRUCTIONS}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON: {e}") from e


def _find_video(manual_dir, video_id):
    for folder in VIDEO_FOLDERS:
        candidate = manual_dir / folder / f"{video_id}.webm"
        if candidate.is_file():
            return candidate
    return None


def _resize(frames, frame_size):
    import cv2  # optional dependency (the `video` extra), needed only when preparing

    height, width = frame_size
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


class SomethingSomethingV2(_tfds_base.ManualBuilder):
    """TFDS builder for Something-Something V2 (a class subset, frames stored at a fixed size).

    Args:
        config: an `Ssv2Config` or the name of a predefined one (`"subset41"`, `"all174"`).
        strict: if True, a corrupt or missing video is an error; by default it is skipped with a warning
            naming it and listed in a summary at the end of preparation.
        **kwargs: `tfds.core.GeneratorBasedBuilder` arguments (`data_dir`, ...).

    Example:
    ```python
    builder = SomethingSomethingV2(data_dir="~/tensorflow_datasets", config="subset41")
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir="~/ssv2"))
    ```
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Frames of a class subset at a fixed size, JPEG-encoded."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
    BUILDER_CONFIGS = [SUBSET_41, ALL_174]

    def _info(self):
        height, width = self.builder_config.frame_size
        return self.dataset_info_from_configs(
            description=f"Something-Something V2, {len(self.builder_config.class_ids)} classes "
                        f"({self.builder_config.note}).",
            features=tfds.features.FeaturesDict({
                "frames": tfds.features.Video(shape=(None, height, width, 3), encoding_format="jpeg"),
                "label": tfds.features.ClassLabel(num_classes=len(self.builder_config.class_ids)),
                "ssv2_id": np.int32,
                "video_id": tfds.features.Text(),
            }),
            metadata=tfds.core.MetadataDict(),
            homepage="https://developer.qualcomm.com/software/ai-datasets/something-something",
            citation="Goyal et al. The 'something something' video database. ICCV 2017.",
        )

    def _split_generators(self, dl_manager):
        manual_dir = self._manual_dir(dl_manager, "Something-Something V2", MANUAL_DOWNLOAD_INSTRUCTIONS)
        labels = read_labels(manual_dir / LABELS_FILE)
        by_id = {v: k for k, v in labels.items()}
        ids = self.builder_config.class_ids
        absent = [i for i in ids if i not in by_id]
        if absent:
            raise ValueError(f"{manual_dir / LABELS_FILE}: class ids {absent} of config "
                             f"{self.builder_config.name!r} are not in the labels file")
        new_label = {ssv2_id: k for k, ssv2_id in enumerate(ids)}
        self.info.metadata["label_map"] = [{"label": k, "ssv2_id": i, "template": by_id[i]}
                                           for k, i in enumerate(ids)]
        self.info.metadata["note"] = self.builder_config.note
        self.info.features["label"].names = [by_id[i] for i in ids]
        self._skipped = failures.SkippedFiles("Something-Something V2", strict=self._strict)
        self._kept = 0
        self._remaining = set(SPLIT_FILES)
        generators = {}
        for split, filename in SPLIT_FILES.items():
            pairs = [(v, i) for v, i in read_split(manual_dir / filename, labels) if i in new_label]
            generators[split] = self._generate_examples(split, manual_dir, pairs, new_label)
        return generators

    def _generate_examples(self, split, manual_dir, pairs, new_label):
        kept = 0
        for video_id, ssv2_id in pairs:
            path = _find_video(manual_dir, video_id)
            try:
                if path is None:
                    raise FileNotFoundError(f"{manual_dir}/{VIDEO_FOLDERS[0]}/{video_id}.webm: "
                                            f"listed in {SPLIT_FILES[split]} but not found")
                frames = _resize(video.read_video(path, mode="rgb"), self.builder_config.frame_size)
            except (FileNotFoundError, video.VideoDecodeError) as e:
                self._skipped.skip(path or f"{manual_dir}/{VIDEO_FOLDERS[0]}/{video_id}.webm", e)
                continue
            kept += 1
            yield video_id, {"frames": frames, "label": new_label[ssv2_id], "ssv2_id": ssv2_id,
                             "video_id": video_id}
        if kept == 0:
            raise ValueError(f"Something-Something V2: no usable {split!r} video of config "
                             f"{self.builder_config.name!r} ({len(pairs)} listed in "
                             f"{manual_dir / SPLIT_FILES[split]}, {len(self._skipped.skipped)} skipped "
                             f"so far); refusing to build an empty split")
        self._kept += kept
        self._remaining.discard(split)
        if not self._remaining:
            self._skipped.finish(self._kept)


def builder(data_dir, config="subset41", manual_dir=None, strict=False):
    """Returns the prepared `SomethingSomethingV2` builder, preparing it from `manual_dir` if needed.

    Args:
        data_dir: TFDS data folder holding (or receiving) the prepared data.
        config: `"subset41"` (reconstruction, default), `"all174"`, or an `Ssv2Config` from `make_config`.
        manual_dir: folder with the SSv2 files (see `MANUAL_DOWNLOAD_INSTRUCTIONS`).
        strict: make corrupt or missing videos fatal during preparation.

    Returns:
        A prepared builder.

    Raises:
        FileNotFoundError: if the data is not prepared and no `manual_dir` is given.

    Example:
    ```python
    b = builder("~/tensorflow_datasets", manual_dir="~/ssv2")
    ```
    """
    ssv2 = SomethingSomethingV2(data_dir=str(data_dir), config=config, strict=strict)
    if not ssv2.is_prepared():
        if manual_dir is None:
            raise FileNotFoundError(
                f"Something-Something V2 ({ssv2.builder_config.name}) is not prepared in {data_dir}; "
                f"pass manual_dir=<folder with the files>.\n{MANUAL_DOWNLOAD_INSTRUCTIONS}")
        _tfds_base.prepare(ssv2, data_dir, manual_dir, "Something-Something V2", MANUAL_DOWNLOAD_INSTRUCTIONS)
    return ssv2


def label_map(prepared_builder):
    """The saved label mapping of a prepared builder.

    Args:
        prepared_builder: a prepared `SomethingSomethingV2` (from `builder`).

    Returns:
        A list of dicts `{"label": k, "ssv2_id": id, "template": template}`, one per new label `k`.

    Example:
    ```python
    label_map(builder("~/tensorflow_datasets"))[0]  # {"label": 0, "ssv2_id": 8, "template": "Dropping ..."}
    ```
    """
    return list(prepared_builder.info.metadata["label_map"])


def activity_group(ssv2_id):
    """The paper's activity (one of `ACTIVITY_GROUPS`) of an SSv2 class of the 41-class subset, else None.

    Example:
    ```python
    activity_group(93)  # "Moving left-to-right"
    ```
    """
    for group, ids in ACTIVITY_GROUPS.items():
        if int(ssv2_id) in ids:
            return group
    return None


def context_frames(observed_fraction, num_frames):
    """Number of observed frames: `round(observed_fraction * num_frames)`.

    Args:
        observed_fraction: fraction of the (resampled) video given as input, in (0, 1).
        num_frames: length of the resampled video.

    Returns:
        An int >= 1.

    Example:
    ```python
    context_frames(0.25, 40)  # 10
    ```
    """
    if not 0.0 < observed_fraction < 1.0:
        raise ValueError(f"observed_fraction must be in (0, 1), got {observed_fraction!r}")
    return _observed_frames(observed_fraction, num_frames)


def _observed_frames(observed_fraction, num_frames):
    return max(1, int(round(observed_fraction * num_frames)))


def resample_indices(num_source, num_frames):
    """Evenly spaced frame indices `floor(k * num_source / num_frames)`, `k = 0..num_frames-1`.

    Args:
        num_source: frames in the video (int tensor or int).
        num_frames: frames wanted.

    Returns:
        An int32 tensor `[num_frames]` (indices repeat when the video is shorter than `num_frames`).

    Example:
    ```python
    resample_indices(6, 4)  # [0, 1, 3, 4]
    ```
    """
    k = tf.range(num_frames, dtype=tf.int64)
    return tf.cast(k * tf.cast(num_source, tf.int64) // num_frames, tf.int32)


def load(data_dir, split="train", observed_fraction=0.25, num_frames=40, future_frames=10,
         config="subset41", shuffle=None, seed=0, manual_dir=None, shuffle_buffer=256, strict=False):
    """Builds a Something-Something V2 dataset of `(clip, label)` examples for early activity recognition.

    Args:
        data_dir: TFDS data folder with (or receiving) the prepared data.
        split: `"train"` or `"validation"`.
        observed_fraction: fraction of the resampled video observed (0.25 or 0.5 in the paper).
        num_frames: every video is resampled to this many evenly spaced frames.
        future_frames: frames after the observed part used as prediction targets.
        config: `"subset41"` (reconstruction, default), `"all174"`, or an `Ssv2Config`.
        shuffle: shuffle files and examples (seeded); default True for `"train"`.
        seed: seed of every shuffle; the same seed gives the same order.
        manual_dir: folder with the SSv2 files, used to prepare the data on first use.
        shuffle_buffer: examples held by the shuffle buffer (uint8 clips).
        strict: make corrupt or missing videos fatal during preparation.

    Returns:
        A `tf.data.Dataset` of `(clip, label)`: clip float32 `[C + F, H, W, 3]` in `[0, 1]` with
        `C = context_frames(observed_fraction, num_frames)` observed frames then `F = future_frames`
        targets; label int32 in `0..K-1`. Prefetched. Use `pipelines.clips.split_context(ds, C)` for
        `(context, future, label)`.

    Raises:
        ValueError: for bad arguments or an empty split.
        FileNotFoundError: if the data is not prepared and `manual_dir` is missing.

    Example:
    ```python
    ds = pipelines.ssv2.load("~/tensorflow_datasets", "validation", observed_fraction=0.5)
    triples = pipelines.clips.split_context(ds, pipelines.ssv2.context_frames(0.5, 40))
    ```
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {sorted(SPLIT_FILES)}, got {split!r} "
                         f"(the SSv2 test split has no labels)")
    context = context_frames(observed_fraction, num_frames)
    if not isinstance(future_frames, int) or future_frames < 1 or context + future_frames > num_frames:
        raise ValueError(f"future_frames must be an int in 1..{num_frames - context} "
                         f"(num_frames - context frames), got {future_frames!r}")
    clip_length = context + future_frames
    shuffle = (split == "train") if shuffle is None else shuffle
    ssv2 = builder(data_dir, config=config, manual_dir=manual_dir, strict=strict)
    if split not in ssv2.info.splits or ssv2.info.splits[split].num_examples == 0:
        raise ValueError(f"Something-Something V2 ({ssv2.builder_config.name}) has no {split!r} "
                         f"examples in {data_dir}")
    dataset = ssv2.as_dataset(split=split, shuffle_files=shuffle,
                              read_config=tfds.ReadConfig(shuffle_seed=seed, try_autocache=False))

    def to_clip(example):
        frames = example["frames"]
        indices = resample_indices(tf.shape(frames)[0], num_frames)[:clip_length]
        return tf.gather(frames, indices), tf.cast(example["label"], tf.int32)

    dataset = dataset.map(to_clip, num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    dataset = dataset.map(lambda clip, label: (tf.cast(clip, tf.float32) / 255.0, label),
                          num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


# -- The dataset interface (pipelines.datasets): early activity recognition on a prepared folder ------

TASK = "recognition"
DEFAULT_IMAGE_SIZE = 64
OPTIONS = (
    datasets.Option("observed_fraction", float, 0.25,
                    "fraction of the resampled video observed (0.25 -> 10 of 40 frames; paper: 0.25, 0.5)"),
    datasets.Option("num_frames", int, 40, "frames each video is resampled to (40)"),
    datasets.Option("classes", str, "subset41",
                    "subset41 (a reconstruction, default), all, or comma-separated SSv2 ids"),
    datasets.Option("manual_dir", str, None,
                    "folder with the downloaded SSv2 files, to prepare --data-dir once"),
)
# Eight cells (the paper's recognition network) and a linear sampling decay, so that the classifier ends
# training on the closed loop it is evaluated on (docs/activity.md).
RECIPES = {
    "demo": dict(encoder_channels="16,32", classifier_channels="32,64", schedule="linear",
                 eval_sequences=256),
    "paper": dict(layers_per_block="2,2,2,2", schedule="linear", lr_schedule="cosine", epochs=100,
                  steps_per_epoch=2000, validation_sequences=1024, eval_sequences=1_000_000),
}
DERIVED = {"context_frames": "--dataset ssv2 observes --observed-fraction of --num-frames frames; "
                             "--context-frames does not apply"}
TEST_SPLIT = "validation"  # the test split has no labels


def builder_config(config):
    """The `Ssv2Config` of `config["classes"]` and `config["image_size"]`."""
    classes = str(config["classes"])
    if classes not in ("subset41", "all"):
        try:
            classes = [int(c) for c in classes.replace(" ", "").split(",")]
        except ValueError:
            raise ValueError(f"--classes must be subset41, all or comma-separated SSv2 ids, "
                             f"got {config['classes']!r}") from None
        if min(classes) < 0 or max(classes) >= NUM_CLASSES or len(set(classes)) != len(classes):
            raise ValueError(f"--classes must be distinct SSv2 ids in 0..{NUM_CLASSES - 1}, "
                             f"got {config['classes']!r}")
    side = datasets.frame_side(config, DEFAULT_IMAGE_SIZE)
    return make_config(classes, frame_size=(side, side))


def validate(config, splits=("train",)):
    """The SSv2 settings: fraction, frame counts, classes and folders."""
    if not 0.0 < config["observed_fraction"] < 1.0:
        raise ValueError(f"--observed-fraction must be in (0, 1), got {config['observed_fraction']}")
    if config["num_frames"] < 2:
        raise ValueError(f"--num-frames must be >= 2, got {config['num_frames']}")
    context = config["context_frames"]
    if context + config["future_frames"] > config["num_frames"]:
        raise ValueError(f"--observed-fraction {config['observed_fraction']} of --num-frames "
                         f"{config['num_frames']} is {context} frames; with --future-frames {config['future_frames']} that needs "
                         f"{context + config['future_frames']} > {config['num_frames']} frames")
    if config.get("manual_dir") is not None and not os.path.isdir(config["manual_dir"]):
        raise FileNotFoundError(f"--manual-dir {config['manual_dir']} does not exist or is not a folder")
    if config.get("manual_dir") is not None and not os.listdir(config["manual_dir"]):
        raise FileNotFoundError(f"--manual-dir {config['manual_dir']} is empty (it should hold the SSv2 "
                                "label files and videos; docs/activity.md)")
    builder_config(config)
    datasets.check_data_dir(config, "ssv2", required=True)


def derive(config):
    """`context_frames`: `round(observed_fraction * num_frames)` (checked by `validate`)."""
    return {"context_frames": _observed_frames(config["observed_fraction"], config["num_frames"])}


def frame_shape(config):
    side = datasets.frame_side(config, DEFAULT_IMAGE_SIZE)
    return (side, side, 3)


def num_classes(config):
    """The number of classes of `config["classes"]`, known without reading any data."""
    return len(builder_config(config).class_ids)


def classes(config):
    """The label map of the prepared data (prepared from `manual_dir` on first use): see `label_map`."""
    prepared = builder(config["data_dir"], config=builder_config(config), manual_dir=config.get("manual_dir"))
    return label_map(prepared)


def class_names(label_map_entries):
    return [entry["template"] for entry in label_map_entries]


def class_groups(label_map_entries):
    return [activity_group(entry["ssv2_id"]) for entry in label_map_entries]


def clips(config, split, clip_length):
    """`(clip, label)` examples (see `pipelines.datasets`): "train" endless and the same on every iteration
    (seeded), anything else the validation split in its stored order (the test split has no labels)."""
    dataset = load(config["data_dir"], "train" if split == "train" else "validation",
                   observed_fraction=config["observed_fraction"], num_frames=config["num_frames"],
                   future_frames=clip_length - int(config["context_frames"]), config=builder_config(config),
                   shuffle=False, manual_dir=config.get("manual_dir"))
    if split == "train":
        # TFDS stores the examples shuffled already; the stream is the same whoever iterates it.
        dataset = clip_ops.repeat_shuffled(dataset, int(config["seed"]))
    return dataset


def metadata(config):
    """What a preset records: its classes, observed fraction and frame count."""
    entries = classes(config)
    return {"num_classes": len(entries), "classes": entries, "observed_fraction": config["observed_fraction"],
            "num_frames": config["num_frames"]}


def options_from_metadata(metadata):
    """The settings a recognizer preset was trained with (defaults where its metadata.json is silent)."""
    stored = metadata.get("classes")
    return {
        "classes": ",".join(str(c["ssv2_id"]) for c in stored) if stored else "subset41",
        "observed_fraction": metadata.get("observed_fraction", 0.25),
        "num_frames": metadata.get("num_frames", 40),
    }
