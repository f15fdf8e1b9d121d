"""MNIST digits from the original IDX files (the raw material of Moving-MNIST).

The library ships the four MNIST files (CC BY-SA 3.0, see `pipelines/assets/mnist/NOTICE.md`), so
`load_digits()` never downloads anything unless `source="keras"` is asked for.
"""

import gzip
import os
import pathlib

import numpy as np

BUNDLED_DIR = pathlib.Path(__file__).resolve().parent / "assets" / "mnist"

_IMAGE_FILES = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
_UBYTE_TYPE_CODE = 0x08


def read_idx_images(path):
    """Reads an IDX3 image file (gzip-compressed or not) into a uint8 array.

    Args:
        path: path to an IDX file with 3 dimensions and unsigned-byte data, e.g.
            `train-images-idx3-ubyte.gz` or its uncompressed version.

    Returns:
        A `np.uint8` array of shape `[N, rows, cols]`.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the file is not an unsigned-byte IDX3 file or is truncated.

    Example:
    ```python
    images = read_idx_images("mnist/t10k-images-idx3-ubyte.gz")  # (10000, 28, 28) uint8
    ```
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MNIST IDX file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"cannot read MNIST IDX file {path}: {e}") from e
    if len(raw) < 16:
        raise ValueError(f"{path} is too short ({len(raw)} bytes) to be an IDX3 file")
    zero, type_code, ndim = int.from_bytes(raw[0:2], "big"), raw[2], raw[3]
    if zero != 0 or type_code != _UBYTE_TYPE_CODE or ndim != 3:
        raise ValueError(
            f"{path} is not an unsigned-byte IDX3 image file (magic bytes {raw[:4].hex()}, "
            f"expected 00000803)"
        )
    n, rows, cols = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    expected = 16 + n * rows * cols
    if len(raw) != expected:
        raise ValueError(
            f"{path} holds {len(raw)} bytes but its header ({n}x{rows}x{cols}) needs {expected}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols)


def _find_idx_file(folder, stem):
    for name in (stem + ".gz", stem):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no MNIST file {stem}(.gz) in {folder}; expected the original IDX files "
        f"(train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz])"
    )


def load_digits(split="train", source="bundled"):
    """Loads the MNIST digit images of one split.

    Args:
        split: `"train"` (60,000 digits) or `"test"` (10,000 digits).
        source: `"bundled"` (the copy shipped in `pipelines/assets/mnist`, the default), `"keras"`
            (`keras.datasets.mnist`, which downloads once into the Keras cache), or the path of a
            folder holding the original IDX files (gzip-compressed or not).

    Returns:
        A `np.uint8` array of shape `[N, 28, 28]`.

    Raises:
        ValueError: for an unknown `split` or a malformed file.
        FileNotFoundError: if the folder or its files are missing.

    Example:
    ```python
    digits = load_digits("test")  # (10000, 28, 28) uint8, from the bundled copy
    ```
    """
    if split not in _IMAGE_FILES:
        raise ValueError(f"split must be 'train' or 'test' for MNIST digits, got {split!r}")
    if isinstance(source, str) and source == "keras":
        import keras  # only here: keras is not needed for the bundled digits

        (x_train, _), (x_test, _) = keras.datasets.mnist.load_data()
        return np.asarray(x_train if split == "train" else x_test, dtype=np.uint8)
    folder = BUNDLED_DIR if (isinstance(source, str) and source == "bundled") else pathlib.Path(
        os.fspath(source))
    if not folder.is_dir():
        raise FileNotFoundError(
            f"MNIST folder not found: {folder} (expected a folder with the original IDX files, "
            f"or source='bundled' / 'keras')"
        )
    return read_idx_images(_find_idx_file(folder, _IMAGE_FILES[split]))
