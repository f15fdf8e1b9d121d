"""Numeric flags checked while the flags are parsed (shared by the command lines).

`add_number(group, "--learning-rate", POSITIVE_FLOAT, help=...)` declares a flag whose value is converted to
the range's kind and checked against it as argparse reads it: a bad value ends the command with a message
naming the flag (exit code 2) before anything is read, built or written.
"""

import argparse


class _Checked(argparse.Action):
    def __init__(self, option_strings, dest, value_range=None, **kwargs):
        self.value_range = value_range
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            values = self.value_range.check(option_string, values)
        except ValueError as error:
            parser.error(str(error))
        setattr(namespace, self.dest, values)


def add_number(parser, flag, value_range, **kwargs):
    """Adds `flag` to `parser` (or an argument group), read as `value_range.kind` and checked against it.

    Args:
        parser: An `argparse.ArgumentParser` or argument group.
        flag: The flag, e.g. `"--learning-rate"`.
        value_range: A `ctt_keras.argument_validation.Range`.
        **kwargs: Other `add_argument` arguments (`default`, `help`, ...).
    """
    return parser.add_argument(flag, type=value_range.kind, action=_Checked, value_range=value_range,
                               **kwargs)
