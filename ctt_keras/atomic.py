"""Writes that a crash or a full disk cannot leave half done: a file or folder is the old one or the new.

Everything is written beside its target, flushed to disk, and renamed into place (a rename within one
file system is atomic). Plain Python, no TensorFlow: the run folders of `ctt_keras.training`, the preset
folders of `ctt_keras.zoo` and the exports of `ctt_keras.export` share these helpers.

- `write_atomic(path, data)` / `write_json(path, data)`: one file.
- `replaced_directory(path)`: a whole folder, filled by the caller, swapped in when complete
  (`recover_directory(path)` finishes a swap a crash interrupted).
- `sync_file`, `sync_folder`: make written data and renames durable (a power cut, not only a kill).

Example:
```python
from ctt_keras import atomic

atomic.write_json("metrics.json", {"psnr": 23.1})
with atomic.replaced_directory("serving/model/1") as folder:
    ...  # write the new version into `folder`; the old one stays until the block ends without error
```
"""

import contextlib
import json
import os
import shutil


def write_atomic(path, data):
    """Writes `data` (str or bytes) to `path` so that a crash leaves the old file or the new one.

    The data goes to `<path>.tmp` in the same folder, is flushed to disk, and is renamed over
    `path`; on any error (a full disk, say) the temporary file is removed and the error raised.
    """
    path = os.fspath(path)
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    sync_folder(os.path.dirname(path))


def write_json(path, data):
    """`write_atomic` of `data` as indented JSON (NumPy values become plain numbers and lists)."""
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")


@contextlib.contextmanager
def replaced_directory(path):
    """Yields a fresh folder to fill; on success it replaces `path` (a crash leaves the old folder).

    The folder is `<path>.partial`; once the block ends without error, the old `path` (a folder or
    a file) is moved to `<path>.previous`, the new folder renamed to `path` and the old one deleted.
    Only a crash between those two renames leaves no `path`: the old one is then `<path>.previous`,
    and the next `replaced_directory(path)` (or `recover_directory(path)`) puts it back first. An
    error inside the block, or a refused rename, removes `<path>.partial` and leaves `path` as it was.

    Example:
    ```python
    with replaced_directory(run.preset) as folder:
        zoo.save_preset(model, folder, overwrite=True)
    ```
    """
    path = os.path.abspath(os.fspath(path))
    partial, previous = path + ".partial", path + ".previous"
    recover_directory(path)
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    try:
        yield partial
        sync_folder(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    try:
        if os.path.lexists(path):
            os.replace(path, previous)
        os.replace(partial, path)
    except BaseException:  # a rename refused (not a kill): the old folder goes back, the new one away
        recover_directory(path)
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _remove(previous)
    sync_folder(os.path.dirname(path))


def recover_directory(path):
    """Puts back `<path>.previous` when a crash in `replaced_directory` left no `path`.

    Returns:
        True if the old folder was put back.
    """
    path = os.path.abspath(os.fspath(path))
    previous = path + ".previous"
    if not os.path.lexists(previous):
        return False
    if os.path.lexists(path):
        _remove(previous)
        return False
    os.replace(previous, path)
    return True


def sync_file(path):
    """Flushes a file written by another library (h5py, TensorFlow) to disk before it is renamed."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def sync_folder(folder):
    """Makes the renames in `folder` durable (a power cut; a killed process needs nothing); best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(folder or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def sha256_of(path, chunk_size=1 << 20):
    """Hex sha256 of a file, read in chunks (checksums of weights, checkpoints and backups)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
