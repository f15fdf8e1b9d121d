"""The common base of our TFDS builders (private)."""

import inspect
import os
import pathlib
import shutil

import tensorflow_datasets as tfds
from etils import epath


class ManualBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """A `GeneratorBasedBuilder` for data the user downloads by hand, with a `strict` flag.

    Args:
        strict: if True, a bad source file is an error instead of being skipped with a warning.
        **kwargs: `tfds.core.GeneratorBasedBuilder` arguments (`data_dir`, `config`, ...).
    """

    def __init__(self, *, strict=False, **kwargs):
        self._strict = strict
        super().__init__(**kwargs)

    def _manual_dir(self, dl_manager, dataset_name, instructions):
        """The user's manual-download folder, or FileNotFoundError naming it with the instructions."""
        manual_dir = pathlib.Path(dl_manager.manual_dir)
        if not manual_dir.is_dir():
            raise FileNotFoundError(f"{dataset_name} manual folder not found: {manual_dir}\n{instructions}")
        return manual_dir

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls):
        # TFDS's default probes `importlib_resources`, which etils does not always bring along; our
        # builders are plain module files, so the file's own path is the answer.
        return epath.Path(inspect.getfile(cls))


def prepare(builder, data_dir, manual_dir, dataset_name, instructions):
    """Prepares `builder` from the user's `manual_dir`; a failure leaves `data_dir` as it was.

    Args:
        builder: A `ManualBuilder` that is not prepared yet.
        data_dir: Its TFDS data folder.
        manual_dir: The folder holding the files the user downloaded.
        dataset_name, instructions: Named in the error messages.

    Raises:
        FileNotFoundError: `manual_dir` is missing, not a folder or empty (found before TFDS writes anything).
        Any error of the preparation, after removing the files and folders it had created in `data_dir`.
    """
    folder = pathlib.Path(os.path.expanduser(os.fspath(manual_dir)))
    if not folder.is_dir():
        raise FileNotFoundError(f"{dataset_name} manual folder {folder} does not exist or is not a folder\n"
                                f"{instructions}")
    if not any(folder.iterdir()):
        raise FileNotFoundError(f"{dataset_name} manual folder {folder} is empty\n{instructions}")
    root = os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
    before = _tree(root)
    try:
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(folder)))
    except BaseException:
        _remove_new(root, before)
        raise


def _tree(root):
    paths = set()
    if os.path.isdir(root):
        paths.add(root)
        for parent, folders, files in os.walk(root):
            paths.update(os.path.join(parent, name) for name in folders + files)
    return paths


def _remove_new(root, before):
    """Removes what appeared under `root` since `before` (the topmost new entries; `root` if it is new)."""
    if root not in before:
        shutil.rmtree(root, ignore_errors=True)
        return
    for path in sorted(_tree(root) - before):
        if os.path.dirname(path) in before and os.path.lexists(path):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)
