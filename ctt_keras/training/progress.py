"""Progress bars for the loops that read, evaluate, predict and prepare data (`keras.utils.Progbar`).

As `model.fit(verbose="auto")`: a bar redrawn in place in a terminal, one summary line when the output is
a file or a pipe (logs are not flooded with a line per batch).
"""

import sys

import keras


def progbar(target=None, unit_name="clips"):
    """A `keras.utils.Progbar` of `target` units (None: unknown; `finish` prints the count at the end)."""
    interactive = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
    return keras.utils.Progbar(target, verbose=1 if interactive else 2, unit_name=unit_name)


def finish(bar, current):
    """Ends `bar` at `current` units (also when its target was unknown)."""
    if bar.target is None:
        bar.target = max(int(current), 1)
    bar.update(current, finalize=True)
