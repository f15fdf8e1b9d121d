"""Allowed values of arguments: one definition, checked by the library and by the command lines.

A `Range` says what a number may be (`int` or `float`, an interval, finite); `check` raises a `ValueError`
naming the argument (or flag), the value and what was expected; `check_writable_folder` does the same for
an output folder. The command lines attach the same ranges to their flags (`ctt_keras.cli._flags.add_number`),
so a bad value is refused while the flags are parsed, before anything is read, built or written; the library
checks them again for callers that pass settings directly.

Example:
```python
from ctt_keras.argument_validation import Range

LR_DECAY = Range(float, 0, 1, low_open=True)
LR_DECAY.check("--lr-decay", 0.98)   # returns 0.98
LR_DECAY.check("--lr-decay", 0)      # ValueError: --lr-decay must be in (0, 1], got 0
```
"""

import math
import numbers
import os


class Range:
    """Numbers of one kind in an interval (ends closed unless `low_open` / `high_open`; None: unbounded).

    Args:
        kind: `int` or `float`. Floats must be finite; ints must be whole numbers (NumPy integers included,
            `bool` refused).
        low, high: The interval's ends (None: no bound on that side).
        low_open, high_open: Whether the ends are excluded.
    """

    def __init__(self, kind, low=None, high=None, low_open=False, high_open=False):
        if kind not in (int, float):
            raise ValueError(f"kind must be int or float, got {kind!r}")
        self.kind, self.low, self.high = kind, low, high
        self.low_open, self.high_open = low_open, high_open

    def __repr__(self):
        return f"Range({self.kind.__name__}, {self.describe()})"

    def describe(self):
        """The allowed values in words, e.g. `>= 1`, `in (0, 1]`, `> 0 and finite`."""
        if self.low is not None and self.high is not None:
            if self.kind is int:
                return f"in {self.low}..{self.high}"
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{self.low}, {self.high}{right}"
        if self.low is not None:
            text = f"{'>' if self.low_open else '>='} {self.low}"
        elif self.high is not None:
            text = f"{'<' if self.high_open else '<='} {self.high}"
        else:
            text = "a number"
        return text + (" and finite" if self.kind is float else "")

    def contains(self, value):
        """Whether `value` (already of the right kind) lies in the range."""
        if self.kind is float and not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def check(self, name, value):
        """Returns `value` as `kind` if it is in the range, else raises `ValueError` naming `name`."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be {'an integer' if self.kind is int else 'a number'} "
                             f"{self.describe()}, got {value!r}")
        if self.kind is int:
            if not isinstance(value, numbers.Integral):
                if not (isinstance(value, float) and value.is_integer()):
                    raise ValueError(f"{name} must be an integer {self.describe()}, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if not self.contains(value):
            raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
        return value


POSITIVE_INT = Range(int, 1)
NON_NEGATIVE_INT = Range(int, 0)
SEED = Range(int, 0, 2**32 - 1)  # what NumPy, TensorFlow and Keras all accept
POSITIVE_FLOAT = Range(float, 0, low_open=True)
NON_NEGATIVE_FLOAT = Range(float, 0)
OPEN_UNIT_INTERVAL = Range(float, 0, 1, low_open=True, high_open=True)
FACTOR = Range(float, 0, 1, low_open=True)  # (0, 1]: a decay factor or decrement


def check_writable_folder(name, path, target=None):
    """Raises `ValueError` naming `name` and `path` unless `target` (default `path`) can be a writable folder.

    The nearest part of `target` that exists must be a folder (not a file) that this process may write into;
    nothing is created. Checked before any work, so that a bad output folder is found before the outputs are
    computed.
    """
    probe = os.path.abspath(os.fspath(path if target is None else target))
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise ValueError(f"{name} {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"{name} {path}: {probe} is not writable")
