"""The table of datasets, and the surface every dataset module exposes to training, evaluation and presets.

`DATASETS` is the only place that lists datasets: adding one means writing its module (with the surface
below) and adding one row here. `ctt_keras.training` and the command lines read everything else from the
module.

The surface of a dataset module (see `moving_mnist`, `kth`, `ssv2`):

    TASK                 "prediction": `clips` yields clips `[T, H, W, C]` (a `VideoPredictor` learns them);
                         "recognition": it yields `(clip, label)` (an `EarlyActivityRecognizer`).
    DEFAULT_IMAGE_SIZE   the frame side when `image_size` is None.
    OPTIONS              its own settings (command-line flags), a tuple of `Option`.
    RECIPES              recipe name ("demo", "paper") -> the defaults that differ on this dataset.
    DERIVED              settings it computes itself (name -> why they cannot be given).
    TEST_SPLIT           the split its "test" clips come from (SSv2's test split has no labels).
    validate(config, splits)
                         checks the settings and that `splits` can be read (ValueError / FileNotFoundError
                         naming the flag); runs no TensorFlow op, so it may run before devices are set up.
    derive(config)       the DERIVED settings, a dict.
    frame_shape(config)  `(height, width, channels)` of its frames.
    clips(config, split, clip_length)
                         an unbatched `tf.data.Dataset` of one split: "train" is endless and seeded,
                         "validation" and "test" are fixed and in a fixed order.
    py_dataset(config, split, clip_length, batch_size)
                         optional: batches of the same clips as a `keras.utils.PyDataset` (no TensorFlow), or
                         None for settings only tf.data reads. Training on the JAX or PyTorch backend uses it
                         and falls back to `clips` (which needs TensorFlow installed) where it is missing.
    metadata(config)     what a preset trained on it records in metadata.json (a dict).
    options_from_metadata(metadata)
                         the settings a preset's metadata.json recorded (to evaluate it the same way).

Recognition datasets add `num_classes(config)` (known before any data is read), `classes(config)` (the label
map recorded in presets), `class_names(classes)` and `class_groups(classes)`.

`config` is a run's flat settings, as stored under `flags` in a run folder's config.json: `dataset`,
`data_dir`, `image_size`, `seed`, `context_frames`, `future_frames`, `validation_sequences` and the dataset's
`OPTIONS`. Errors name a setting as its flag (`--image-size`), the way the run was configured.

Example:
```python
from ctt_keras.pipelines import datasets

module = datasets.get("moving_mnist")
config = {"data_dir": None, "image_size": None, "seed": 0, "context_frames": 10, "future_frames": 10}
module.frame_shape(config)                        # (64, 64, 1)
train = module.clips(config, "train", 20)         # endless clips [20, 64, 64, 1]
```
"""

import collections
import importlib
import os

# name -> module: a module of this package, or a full module path (`"my_project.my_dataset"`) for a dataset
# that lives elsewhere. The one table of datasets.
DATASETS = {
    "moving_mnist": "moving_mnist",
    "kth": "kth",
    "ssv2": "ssv2",
}
TASKS = ("prediction", "recognition")

Option = collections.namedtuple("Option", ["name", "type", "default", "help"])
Option.__doc__ = """A dataset's own setting: its name (flag `--name-with-dashes`), type, default and help."""


def names():
    """The dataset names, in table order (no module is imported)."""
    return tuple(DATASETS)


def get(name):
    """The module of dataset `name` (imported on first use).

    Raises:
        ValueError: if `name` is not in `DATASETS`.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    module = DATASETS[name]
    try:
        return importlib.import_module(module if "." in module else f"{__package__}.{module}")
    except ModuleNotFoundError as error:
        if error.name not in _TENSORFLOW_MODULES:
            raise
        raise ImportError(
            f"--dataset {name} is read with {error.name}, which is not installed (pip install tensorflow-cpu "
            "tensorflow-datasets). Without TensorFlow, train on generated Moving-MNIST (--dataset "
            "moving_mnist, no --data-dir)") from error


# What a dataset module may need that a JAX or PyTorch installation lacks.
_TENSORFLOW_MODULES = ("tensorflow", "tensorflow_datasets")


def available(name):
    """Whether dataset `name`'s module imports here (kth and ssv2 need TensorFlow and TFDS)."""
    try:
        get(name)
    except ImportError:
        return False
    return True


def options():
    """Every dataset's `OPTIONS`: a dict option name -> `(dataset name, Option)`, in table order.

    Datasets whose module needs TensorFlow where it is not installed contribute none (`available`).
    """
    found = {}
    for name in DATASETS:
        if not available(name):
            continue
        for option in get(name).OPTIONS:
            if option.name in found:
                raise ValueError(f"datasets {found[option.name][0]} and {name} both declare option "
                                 f"{option.name!r}; give them distinct names")
            found[option.name] = (name, option)
    return found


# -- Helpers shared by the dataset modules -------------------------------------------------------------------

def frame_side(config, default):
    """`config["image_size"]` or `default`, checked to be >= 1."""
    side = config.get("image_size") or default
    if side < 1:
        raise ValueError(f"--image-size must be >= 1, got {side}")
    return int(side)


def check_data_dir(config, dataset, required=False):
    """`config["data_dir"]` must be an existing folder (and given, when `required`)."""
    data_dir = config.get("data_dir")
    if data_dir is None:
        if required:
            raise ValueError(f"--dataset {dataset} needs --data-dir (its prepared TFDS folder)")
        return
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"--data-dir {data_dir} does not exist or is not a folder")


def parse_ints(flag, text):
    """`"3,3,3"` -> `(3, 3, 3)`: positive ints, or ValueError naming `flag`."""
    try:
        values = tuple(int(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated ints, got {text!r}") from None
    if not values or min(values) < 1:
        raise ValueError(f"{flag} must be positive ints, got {text!r}")
    return values
