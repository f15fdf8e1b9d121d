"""ctt_keras.argument_validation: the ranges the command lines and run_config share."""

import math

import numpy as np
import pytest

from ctt_keras import argument_validation as av


@pytest.mark.parametrize("value_range, value, expected", [
    (av.POSITIVE_INT, 3, 3), (av.POSITIVE_INT, np.int64(3), 3), (av.POSITIVE_INT, 2.0, 2),
    (av.SEED, 2**32 - 1, 2**32 - 1), (av.POSITIVE_FLOAT, 1e-30, 1e-30), (av.FACTOR, 1, 1.0),
    (av.NON_NEGATIVE_FLOAT, 0, 0.0), (av.OPEN_UNIT_INTERVAL, 0.5, 0.5),
])
def test_values_in_range_are_returned_as_their_kind(value_range, value, expected):
    got = value_range.check("x", value)
    assert got == expected and type(got) is value_range.kind


@pytest.mark.parametrize("value_range, value, message", [
    (av.POSITIVE_INT, 0, "--n must be >= 1, got 0"),
    (av.POSITIVE_INT, 2.5, "--n must be an integer >= 1, got 2.5"),
    (av.POSITIVE_INT, True, "--n must be an integer >= 1, got True"),
    (av.POSITIVE_INT, "3", "--n must be an integer >= 1, got '3'"),
    (av.SEED, 2**32, "--n must be in 0..4294967295, got 4294967296"),
    (av.POSITIVE_FLOAT, math.nan, "--n must be > 0 and finite, got nan"),
    (av.POSITIVE_FLOAT, math.inf, "--n must be > 0 and finite, got inf"),
    (av.NON_NEGATIVE_FLOAT, -1e-9, "--n must be >= 0 and finite, got -1e-09"),
    (av.FACTOR, 0.0, "--n must be in (0, 1], got 0.0"),
    (av.OPEN_UNIT_INTERVAL, 1.0, "--n must be in (0, 1), got 1.0"),
    (av.OPEN_UNIT_INTERVAL, math.nan, "--n must be in (0, 1), got nan"),
])
def test_values_out_of_range_are_named(value_range, value, message):
    with pytest.raises(ValueError) as error:
        value_range.check("--n", value)
    assert str(error.value) == message


def test_writable_folder(tmp_path):
    av.check_writable_folder("--out", tmp_path / "new" / "deeper")  # can be made; nothing is created
    assert not (tmp_path / "new").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="--out .*/file/sub: .*/file is a file, not a folder"):
        av.check_writable_folder("--out", tmp_path / "file" / "sub")


def test_run_config_checks_the_same_ranges_for_library_callers(tmp_path):
    from ctt_keras.training import run_config

    base = {"logdir": str(tmp_path / "runs")}
    for key, value, flag in (("learning_rate", math.nan, "--learning-rate"), ("lr_decay", 0.0, "--lr-decay"),
                             ("patience", -3, "--patience"), ("min_delta", math.nan, "--min-delta")):
        with pytest.raises(run_config.ConfigError, match=f"^{flag} must be"):
            run_config.resolve({**base, key: value})
    assert not (tmp_path / "runs").exists()
