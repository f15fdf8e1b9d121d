"""The common base of our TFDS builders (private)."""

import inspect
import pathlib

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
