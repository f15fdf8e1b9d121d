"""KTH action dataset: the `00sequences.txt` parser, a TFDS builder over the raw AVIs, and a clip loader.

The builder (`KthAction`, TFDS name `kth_action`) decodes every listed action segment of every video once
to gray uint8 frames at the original 160x120 and writes them, one example per segment, to TFRecord shards
with one TFDS split per person (`person01` ... `person25`). `load` then reads the persons of a split, resizes
frames (bilinear with antialiasing, rounded back to uint8) and cuts clips of context + future frames:
overlapping in training (stride 1 by default), non-overlapping otherwise.
"""

import contextlib
import pathlib
import re
import tempfile
import zipfile

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from . import _tfds_base, datasets, failures, video
from . import clips as clip_ops

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
SCENARIOS = ("d1", "d2", "d3", "d4")
SEQUENCES_FILE = "00sequences.txt"
PAPER_SPLITS = {"train": tuple(range(1, 17)), "test": tuple(range(17, 26))}
# The header of 00sequences.txt (Schuldt et al. 2004); `parse_sequences_file` reads the same numbers.
OFFICIAL_SPLITS = {
    "train": (11, 12, 13, 14, 15, 16, 17, 18),
    "validation": (19, 20, 21, 23, 24, 25, 1, 4),
    "test": (22, 2, 3, 5, 6, 7, 8, 9, 10),
}
SPLIT_SCHEMES = ("paper", "official")

MANUAL_DOWNLOAD_INSTRUCTIONS = """\
KTH action (Schuldt, Laptev & Caputo, ICPR 2004) is not downloaded automatically.
Get it from https://www.csc.kth.se/cvap/actions/ and place in the manual folder (`manual_dir`):
  - the six action archives as distributed (boxing.zip, handclapping.zip, handwaving.zip, jogging.zip,
    running.zip, walking.zip) or the extracted AVI files (person01_walking_d1_uncomp.avi, ...; any
    sub-folders), and
  - the segment list 00sequences.txt from the same page.
Only the frame ranges listed in 00sequences.txt are used; the entry marked *missing* is skipped.
"""

_VIDEO_NAME = re.compile(r"^person(\d\d)_([a-z]+)_(d[1-4])$")
_AVI_NAME = re.compile(r"^(person\d\d_[a-z]+_d[1-4])_uncomp\.avi$")
_SPLIT_LINE = re.compile(r"^(Training|Validation|Test):\s*(.*)$")
_SEGMENT = re.compile(r"^(\d+)-(\d+)$")


class SequencesFile:
    """The parsed `00sequences.txt`: action segments per video and the official person split.

    Attributes:
        segments: dict video name (`"person01_walking_d1"`) -> list of `(start, end)` frame ranges,
            0-based and end-exclusive (the file's `1-95` becomes `(0, 95)`).
        missing: names of the videos marked `*missing*`.
        official_split: dict `"train"`, `"validation"`, `"test"` -> tuple of person numbers.

    Example:
    ```python
    parse_sequences_file("00sequences.txt").missing  # ["person13_handclapping_d3"]
    ```
    """

    def __init__(self, segments, missing, official_split):
        self.segments = segments
        self.missing = missing
        self.official_split = official_split


def parse_sequences_file(path):
    """Parses KTH's `00sequences.txt`.

    Args:
        path: path of the file.

    Returns:
        A `SequencesFile`.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: for a malformed line (the message gives file and line number) or a file without
            segments.

    Example:
    ```python
    seq = parse_sequences_file("00sequences.txt")
    seq.segments["person01_boxing_d1"]  # [(0, 95), (95, 185), (185, 245), (245, 360)]
    ```
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"KTH segment list not found: {path}\n{MANUAL_DOWNLOAD_INSTRUCTIONS}")
    segments, missing, official = {}, [], {}
    names = {"Training": "train", "Validation": "validation", "Test": "test"}
    for number, raw in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        line = raw.strip()
        header = _SPLIT_LINE.match(line)
        if header:
            official[names[header.group(1)]] = tuple(
                int(p) for p in re.findall(r"\d+", header.group(2)))
            continue
        fields = line.split()
        if not fields or not _VIDEO_NAME.match(fields[0]):
            continue  # prose of the header
        name = fields[0]
        if fields[1:] == ["*missing*"]:
            missing.append(name)
            continue
        if len(fields) < 3 or fields[1] != "frames":
            raise ValueError(f"{path}:{number}: expected '<video> frames a-b, c-d, ...', got {line!r}")
        ranges = []
        for item in " ".join(fields[2:]).replace(" ", "").split(","):
            match = _SEGMENT.match(item)
            if not match or int(match.group(1)) < 1 or int(match.group(2)) < int(match.group(1)):
                raise ValueError(f"{path}:{number}: bad frame range {item!r} for {name}")
            ranges.append((int(match.group(1)) - 1, int(match.group(2))))
        segments[name] = ranges
    if not segments:
        raise ValueError(f"{path}: no segment line ('person01_boxing_d1 frames 1-95, ...') found")
    return SequencesFile(segments, missing, official)


def split_persons(split, split_scheme="paper"):
    """Person numbers of a split.

    Args:
        split: `"train"` or `"test"` (scheme `"paper"`: persons 1-16 / 17-25), or `"train"`,
            `"validation"`, `"test"` (scheme `"official"`: the header of `00sequences.txt`).
        split_scheme: `"paper"` or `"official"`.

    Returns:
        A tuple of person numbers.

    Example:
    ```python
    split_persons("test")  # (17, 18, ..., 25)
    ```
    """
    if split_scheme not in SPLIT_SCHEMES:
        raise ValueError(f"split_scheme must be one of {SPLIT_SCHEMES}, got {split_scheme!r}")
    table = PAPER_SPLITS if split_scheme == "paper" else OFFICIAL_SPLITS
    if split not in table:
        raise ValueError(f"split {split!r} does not exist in the {split_scheme!r} scheme "
                         f"(available: {sorted(table)})")
    return tuple(table[split])


def _find_sequences_file(manual_dir):
    found = sorted(manual_dir.rglob(SEQUENCES_FILE))
    if not found:
        raise FileNotFoundError(f"no {SEQUENCES_FILE} under {manual_dir}\n{MANUAL_DOWNLOAD_INSTRUCTIONS}")
    return found[0]


def _find_videos(manual_dir):
    """Maps video name -> ('file', path) or ('zip', (zip path, member)); loose AVIs win over zips."""
    videos = {}
    for path in sorted(manual_dir.rglob("*.avi")):
        match = _AVI_NAME.match(path.name)
        if match:
            videos.setdefault(match.group(1), ("file", path))
    for archive in sorted(manual_dir.rglob("*.zip")):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                match = _AVI_NAME.match(pathlib.PurePosixPath(member).name)
                if match:
                    videos.setdefault(match.group(1), ("zip", (archive, member)))
    return videos


@contextlib.contextmanager
def _local_file(source):
    """Yields a path to the AVI: the file itself, or the zip member extracted to a temporary folder."""
    kind, where = source
    if kind == "file":
        yield where
        return
    archive, member = where
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with zipfile.ZipFile(archive) as z:
                extracted = z.extract(member, tmp)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise video.VideoDecodeError(f"{archive}:{member}: cannot extract: {e}") from e
        yield extracted


def _source_name(source):
    kind, where = source
    return where if kind == "file" else f"{where[0]}:{where[1]}"


class KthAction(_tfds_base.ManualBuilder):
    """TFDS builder for KTH action: one example per listed segment, one split per person.

    Args:
        strict: if True, a corrupt, truncated or missing video is an error; by default it is skipped with
            a warning naming it and listed in a summary at the end of preparation.
        **kwargs: `tfds.core.GeneratorBasedBuilder` arguments (`data_dir`, ...).

    Example:
    ```python
    builder = KthAction(data_dir="~/tensorflow_datasets")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir="~/kth_raw"))
    ```
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Gray uint8 frames of the listed segments, one split per person."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS

    def _info(self):
        return self.dataset_info_from_configs(
            description="KTH human actions, gray frames of the segments listed in 00sequences.txt.",
            features=tfds.features.FeaturesDict({
                "frames": tfds.features.Tensor(shape=(None, None, None, 1), dtype=np.uint8,
                                               encoding=tfds.features.Encoding.ZLIB),
                "person": np.int32,
                "action": tfds.features.ClassLabel(names=ACTIONS),
                "scenario": tfds.features.ClassLabel(names=SCENARIOS),
                "video": tfds.features.Text(),
                "segment": np.int32,
                "first_frame": np.int32,
            }),
            homepage="https://www.csc.kth.se/cvap/actions/",
            # Keep segments in file order, so that unshuffled reading is in (video, segment) order.
            disable_shuffling=True,
            citation="Schuldt, Laptev, Caputo. Recognizing human actions: a local SVM approach. ICPR 2004.",
        )

    def _split_generators(self, dl_manager):
        manual_dir = self._manual_dir(dl_manager, "KTH", MANUAL_DOWNLOAD_INSTRUCTIONS)
        sequences = parse_sequences_file(_find_sequences_file(manual_dir))
        available = _find_videos(manual_dir)
        if not available:
            raise FileNotFoundError(f"no KTH video (person01_walking_d1_uncomp.avi, ... or the action "
                                    f"zips) under {manual_dir}\n{MANUAL_DOWNLOAD_INSTRUCTIONS}")
        self._skipped = failures.SkippedFiles("KTH", strict=self._strict)
        self._kept = 0
        by_person = {}
        for name in sorted(sequences.segments):
            if name not in available:
                self._skipped.skip(manual_dir / f"{name}_uncomp.avi",
                                   FileNotFoundError("listed in 00sequences.txt but not found"))
                continue
            # A cheap probe first, so that a person whose files are all bad gets no (empty) split.
            needed = sequences.segments[name][-1][1]
            try:
                with _local_file(available[name]) as path:
                    video.probe_video(path, needed)
            except video.VideoDecodeError as e:
                self._skipped.skip(_source_name(available[name]), e)
                continue
            person = int(_VIDEO_NAME.match(name).group(1))
            by_person.setdefault(person, []).append((name, available[name]))
        if not by_person:
            self._skipped.finish(0)
        self._remaining = set(by_person)
        return {f"person{p:02d}": self._generate_examples(p, videos, sequences)
                for p, videos in sorted(by_person.items())}

    def _generate_examples(self, person, videos, sequences):
        kept = 0
        for name, source in videos:
            ranges = sequences.segments[name]
            try:
                with _local_file(source) as path:
                    frames = video.read_video(path, mode="gray")
                if ranges[-1][1] > frames.shape[0]:
                    raise video.VideoDecodeError(
                        f"truncated: 00sequences.txt needs frames up to {ranges[-1][1]}, "
                        f"the video has {frames.shape[0]}")
            except video.VideoDecodeError as e:
                self._skipped.skip(_source_name(source), e)
                continue
            kept += 1
            _, action, scenario = _VIDEO_NAME.match(name).groups()
            for index, (start, end) in enumerate(ranges):
                yield f"{name}_{index}", {
                    "frames": frames[start:end], "person": person, "action": action,
                    "scenario": scenario, "video": name, "segment": index, "first_frame": start + 1,
                }
        if kept == 0:
            raise ValueError(f"KTH: every video of person{person:02d} passed the probe but failed to "
                             f"decode ({[_source_name(s) for _, s in videos]}); remove or replace them")
        self._kept += kept
        self._remaining.discard(person)
        if not self._remaining:
            self._skipped.finish(self._kept)


def builder(data_dir, manual_dir=None, strict=False):
    """Returns the prepared `KthAction` builder, preparing it from `manual_dir` if needed.

    Args:
        data_dir: TFDS data folder holding (or receiving) the prepared shards.
        manual_dir: folder with the raw KTH files (see `MANUAL_DOWNLOAD_INSTRUCTIONS`); needed only if
            the data is not prepared yet.
        strict: make corrupt, truncated or missing videos fatal during preparation.

    Returns:
        A prepared `KthAction` builder.

    Raises:
        FileNotFoundError: if the data is not prepared and no `manual_dir` is given.

    Example:
    ```python
    b = builder("~/tensorflow_datasets", manual_dir="~/kth_raw")
    ```
    """
    kth = KthAction(data_dir=str(data_dir), strict=strict)
    if not kth.is_prepared():
        if manual_dir is None:
            raise FileNotFoundError(f"KTH is not prepared in {data_dir}; pass manual_dir=<folder with the "
                                    f"raw files>.\n{MANUAL_DOWNLOAD_INSTRUCTIONS}")
        _tfds_base.prepare(kth, data_dir, manual_dir, "KTH", MANUAL_DOWNLOAD_INSTRUCTIONS)
    return kth


def load(data_dir, split="train", context_frames=10, future_frames=10, image_size=128, stride=None,
         shuffle=None, seed=0, split_scheme="paper", persons=None, manual_dir=None, shuffle_buffer=256,
         strict=False):
    """Builds a KTH clip dataset yielding one clip `[T, H, W, 1]` at a time.

    Args:
        data_dir: TFDS data folder with the prepared `kth_action` data.
        split: `"train"` / `"test"` (paper scheme: persons 1-16 / 17-25) or also `"validation"` with
            `split_scheme="official"`.
        context_frames: frames given to the model (10 in the paper).
        future_frames: frames to predict (20 or 40 in the paper); `T = context_frames + future_frames`.
        image_size: output side (int) or `(height, width)`; 128 in the paper; None keeps 120x160.
            Bilinear with antialiasing from 160x120, rounded back to uint8, then divided by 255.
        stride: frames between clip starts inside a segment; default 1 for `"train"` (overlapping) and
            `T` otherwise (non-overlapping).
        shuffle: shuffle segments and clips (seeded); default True for `"train"`, False otherwise.
        seed: seed of every shuffle; the same seed gives the same order.
        split_scheme: `"paper"` or `"official"` (the header of `00sequences.txt`).
        persons: explicit person numbers, overriding `split`.
        manual_dir: raw KTH files, used to prepare the data on first use.
        shuffle_buffer: clips held by the clip shuffle buffer (uint8, so 256 clips of 20x128x128 = 84 MB).
        strict: make bad videos fatal during preparation.

    Returns:
        A `tf.data.Dataset` of float32 clips `[T, H, W, 1]` in `[0, 1]`, prefetched.

    Raises:
        FileNotFoundError: if the data is not prepared and `manual_dir` is missing.
        ValueError: for bad arguments, or if the split yields no clip (e.g. all segments shorter than T).

    Example:
    ```python
    train = pipelines.kth.load("~/tensorflow_datasets", "train", 10, 10, manual_dir="~/kth_raw")
    pairs = pipelines.clips.split_context(train, 10).batch(8)
    ```
    """
    if not isinstance(context_frames, int) or context_frames < 1:
        raise ValueError(f"context_frames must be a positive int, got {context_frames!r}")
    if not isinstance(future_frames, int) or future_frames < 1:
        raise ValueError(f"future_frames must be a positive int, got {future_frames!r}")
    clip_length = context_frames + future_frames
    size = (image_size, image_size) if isinstance(image_size, int) else image_size
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise ValueError(f"image_size must be an int, (height, width) or None, got {image_size!r}")
    stride = stride if stride is not None else (1 if split == "train" else clip_length)
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    shuffle = (split == "train") if shuffle is None else shuffle
    if persons is None:
        persons = split_persons(split, split_scheme)

    kth = builder(data_dir, manual_dir=manual_dir, strict=strict)
    prepared = sorted(kth.info.splits.keys())
    wanted = [f"person{p:02d}" for p in persons if f"person{p:02d}" in prepared]
    if not wanted:
        raise ValueError(f"no prepared KTH data for persons {list(persons)} (split {split!r}); "
                         f"prepared: {prepared}")
    # Shards are written in (video, segment) order; read them in order unless shuffling.
    read_config = (tfds.ReadConfig(shuffle_seed=seed, try_autocache=False, enable_ordering_guard=False)
                   if shuffle else tfds.ReadConfig(try_autocache=False, interleave_cycle_length=1))
    segments = kth.as_dataset(split="+".join(wanted), shuffle_files=shuffle, read_config=read_config)
    segments = segments.map(lambda ex: ex["frames"])
    long_enough = segments.filter(lambda f: tf.shape(f)[0] >= clip_length)
    if next(iter(long_enough.take(1)), None) is None:
        raise ValueError(f"no KTH segment of persons {[int(w[6:]) for w in wanted]} has "
                         f"{clip_length} frames (context_frames + future_frames); nothing to cut")
    if shuffle:
        segments = segments.shuffle(16, seed=seed)
    segments = segments.map(lambda f: _resize_uint8(f, size), num_parallel_calls=tf.data.AUTOTUNE)
    cut = lambda f: clip_ops.windows(f, clip_length, stride)  # noqa: E731
    if shuffle:
        dataset = segments.interleave(cut, cycle_length=8, block_length=1)
        dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    else:
        dataset = segments.flat_map(cut)
    # Every clip has exactly clip_length frames: say so, so that models see a static time axis.
    dataset = dataset.map(lambda c: tf.ensure_shape(tf.cast(c, tf.float32) / 255.0, [clip_length, None, None, None]),
                          num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _resize_uint8(frames, size):
    if size is None:
        return frames
    resized = clip_ops.resize_frames(frames, size)
    return tf.cast(tf.round(resized * 255.0), tf.uint8)


# -- The dataset interface (pipelines.datasets): the paper's split of a prepared `kth_action` folder ----

TASK = "prediction"
DEFAULT_IMAGE_SIZE = 128
OPTIONS = ()
RECIPES = {}
DERIVED = {}
TEST_SPLIT = "test"


def validate(config, splits=("train",)):
    """`data_dir` must be given and exist (the prepared TFDS folder)."""
    datasets.check_data_dir(config, "kth", required=True)
    datasets.frame_side(config, DEFAULT_IMAGE_SIZE)


def derive(config):
    return {}


def frame_shape(config):
    side = datasets.frame_side(config, DEFAULT_IMAGE_SIZE)
    return (side, side, 1)


def clips(config, split, clip_length):
    """Clips `[clip_length, H, W, 1]` (see `pipelines.datasets`): persons 1-16 for "train" (endless,
    shuffled with `config["seed"]`), persons 17-25 otherwise (the paper's split has no validation persons)."""
    context = int(config["context_frames"])
    dataset = load(config["data_dir"], "train" if split == "train" else "test", context,
                   clip_length - context, image_size=datasets.frame_side(config, DEFAULT_IMAGE_SIZE), seed=int(config["seed"]))
    if split == "train":
        # `load` checked that clips exist, so the repeated stream never ends; say so (cardinality INFINITE).
        endless = tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY)
        dataset = dataset.repeat().apply(endless)
    return dataset


def metadata(config):
    return {}


def options_from_metadata(metadata):
    return {}
