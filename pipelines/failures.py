"""Skipping bad source files with a warning, and summarising what was skipped."""

import logging
import warnings


class SkippedFiles:
    """Collects files skipped while preparing a dataset and reports them.

    With `strict=True` the first problem raises instead of being skipped.

    Args:
        what: a short name of the data being prepared, used in messages (e.g. `"KTH"`).
        strict: if True, `skip` raises `error` instead of warning.

    Example:
    ```python
    skipped = SkippedFiles("KTH")
    try:
        frames = video.read_video(path)
    except video.VideoDecodeError as e:
        skipped.skip(path, e)
    skipped.finish(num_kept=10)
    ```
    """

    def __init__(self, what, strict=False):
        self.what = what
        self.strict = strict
        self.skipped = []

    def skip(self, path, error):
        """Warns that `path` is skipped because of `error` (or raises when strict).

        Args:
            path: the bad file.
            error: the exception saying what is wrong with it.

        Raises:
            Exception: `error` itself when strict and its message names `path`; otherwise a
                `ValueError` naming `path`, chained to `error`.
        """
        reason = str(error).replace(f"{path}: ", "")
        if self.strict:
            if str(path) in str(error):
                raise error
            raise ValueError(f"{self.what}: {path}: {reason}") from error
        self.skipped.append((str(path), reason))
        warnings.warn(f"{self.what}: skipping {path}: {reason}", RuntimeWarning, stacklevel=2)

    def finish(self, num_kept):
        """Logs the summary; raises `ValueError` if nothing was kept.

        Args:
            num_kept: number of files that were used.

        Returns:
            The list of `(path, reason)` pairs that were skipped.
        """
        if self.skipped:
            lines = "\n".join(f"  {path}: {reason}" for path, reason in self.skipped)
            message = f"{self.what}: skipped {len(self.skipped)} file(s), kept {num_kept}:\n{lines}"
            logging.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        if num_kept == 0:
            raise ValueError(f"{self.what}: no usable file was found "
                             f"({len(self.skipped)} skipped); refusing to build an empty dataset")
        return list(self.skipped)
