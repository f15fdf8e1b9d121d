"""The common base of our TFDS builders (private)."""

import inspect

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

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls):
        # TFDS's default probes `importlib_resources`, which etils does not always bring along; our
        # builders are plain module files, so the file's own path is the answer.
        return epath.Path(inspect.getfile(cls))
