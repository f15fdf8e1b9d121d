"""Presets built from official PyTorch checkpoints: converted once without torch, cached, checked.

The official `convttlstm-mnist.pt` / `convttlstm-kth.pt` cannot be downloaded here, so these tests use
the official test network `tiny2` (tests/data/nvlabs) through a registered preset that is set
up exactly like the built-in official presets (config + metadata with `official_checkpoint`, no weights).
"""

import json
import shutil

import numpy as np
import pytest

from ctt_keras import checkpoints, zoo
from tests.zoo.conftest import nhwc

PT = "nvlabs_tiny2_eval_paper_format.pt"


@pytest.fixture(scope="module")
def vectors(nvlabs_dir):
    data = np.load(nvlabs_dir / "vectors_tiny2.npz")
    return nhwc(data["input"]), nhwc(data["output"])


def assert_matches_official(model, vectors):
    context, expected = vectors
    np.testing.assert_allclose(model.predict_frames(context, 10).numpy(), expected, atol=1e-5, rtol=0)


def forbid_conversion(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the checkpoint was converted again instead of reusing the cache")

    monkeypatch.setattr(checkpoints.official, "read_checkpoint", refuse)


def test_load_from_a_path_converts_once_and_caches(tiny2_preset, nvlabs_dir, vectors, keras_home,
                                                    monkeypatch):
    model = zoo.load(tiny2_preset, weights=nvlabs_dir / PT)
    assert_matches_official(model, vectors)
    cache = keras_home / "models"
    record = json.loads((cache / f"{tiny2_preset}.conversion.json").read_text())
    assert record["source_sha256"] == zoo.sha256_of(nvlabs_dir / PT)
    assert record["weights_sha256"] == zoo.sha256_of(cache / f"{tiny2_preset}.weights.h5")
    assert record["license"] == zoo.NVIDIA_LICENSE
    assert zoo.info(tiny2_preset)["weights_status"].startswith("converted from tiny2.pt")
    forbid_conversion(monkeypatch)
    assert_matches_official(zoo.load(tiny2_preset), vectors)


def test_checkpoint_placed_in_the_cache_is_found(tiny2_preset, nvlabs_dir, vectors, keras_home, monkeypatch):
    cache = keras_home / "models"
    cache.mkdir(parents=True)
    shutil.copy(nvlabs_dir / PT, cache / "tiny2.pt")
    assert zoo.info(tiny2_preset)["weights_status"].startswith("official checkpoint in the cache")
    assert_matches_official(zoo.load(tiny2_preset), vectors)
    assert (cache / f"{tiny2_preset}.weights.h5").is_file()
    forbid_conversion(monkeypatch)
    assert_matches_official(zoo.load(tiny2_preset), vectors)


def test_legacy_and_bare_formats_convert_too(tiny2_preset, nvlabs_dir, vectors):
    for name in ("nvlabs_tiny2_eval_paper_format_legacy.pt", "nvlabs_tiny2_state_dict.pt"):
        assert_matches_official(zoo.load(tiny2_preset, weights=nvlabs_dir / name), vectors)


def test_truncated_checkpoint_in_the_cache_is_removed(tiny2_preset, nvlabs_dir, keras_home):
    cache = keras_home / "models"
    cache.mkdir(parents=True)
    data = (nvlabs_dir / PT).read_bytes()
    (cache / "tiny2.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="(?s)cannot read the checkpoint .*tiny2.pt.*removed from the cache"):
        zoo.load(tiny2_preset)
    assert not (cache / "tiny2.pt").exists()
    assert (cache / "tiny2.pt.corrupt").read_bytes() == data[: len(data) // 2]  # kept aside, not lost
    assert not (cache / f"{tiny2_preset}.weights.h5").exists()
    with pytest.raises(FileNotFoundError, match="weights=False"):
        zoo.load(tiny2_preset)


def test_truncated_checkpoint_given_by_path_is_left_alone(tiny2_preset, nvlabs_dir, tmp_path):
    data = (nvlabs_dir / PT).read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[:1000])
    with pytest.raises(ValueError, match="cannot read the checkpoint"):
        zoo.load(tiny2_preset, weights=tmp_path / "cut.pt")
    assert (tmp_path / "cut.pt").read_bytes() == data[:1000]


def test_corrupt_cached_conversion_is_removed_and_redone(tiny2_preset, nvlabs_dir, vectors, keras_home):
    cache = keras_home / "models"
    zoo.load(tiny2_preset, weights=nvlabs_dir / PT)
    converted = cache / f"{tiny2_preset}.weights.h5"
    with open(converted, "r+b") as f:
        f.truncate(converted.stat().st_size // 2)
    # Without the .pt the bad entry is dropped and the error says what to do.
    with pytest.raises(FileNotFoundError, match="tiny2.pt"):
        zoo.load(tiny2_preset)
    assert not converted.exists() and not (cache / f"{tiny2_preset}.conversion.json").exists()
    # With the .pt in the cache it is converted anew.
    shutil.copy(nvlabs_dir / PT, cache / "tiny2.pt")
    assert_matches_official(zoo.load(tiny2_preset), vectors)


def test_cached_conversion_of_the_wrong_structure_is_removed(tiny2_preset, nvlabs_dir, keras_home, tmp_path):
    cache = keras_home / "models"
    zoo.load(tiny2_preset, weights=nvlabs_dir / PT)
    other = checkpoints.from_nvlabs(nvlabs_dir / "nvlabs_small_skip_eval_paper_format.pt",
                                    frame_shape=(16, 16, 1))
    converted = cache / f"{tiny2_preset}.weights.h5"
    other.save_weights(converted)
    record = cache / f"{tiny2_preset}.conversion.json"
    forged = {**json.loads(record.read_text()), "weights_sha256": zoo.sha256_of(converted)}
    record.write_text(json.dumps(forged))
    with pytest.raises(ValueError, match="(?s)does not fit the model.*bad cache entry was removed"):
        zoo.load(tiny2_preset)
    assert not converted.exists() and not record.exists()


def test_checkpoint_of_another_network_is_refused(tiny2_preset, nvlabs_dir, keras_home):
    with pytest.raises(ValueError, match="is not the network of preset") as error:
        zoo.load(tiny2_preset, weights=nvlabs_dir / "nvlabs_small_skip_eval_paper_format.pt")
    assert "hidden_channels" in str(error.value)
    with pytest.raises(ValueError, match=r"cell: checkpoint 'convttlstm', preset 'convlstm'"):
        zoo.load("mmnist_convlstm", weights=nvlabs_dir / PT)
    assert not (keras_home / "models").exists() or not any((keras_home / "models").iterdir())


def test_channels_of_the_checkpoint_must_match_the_frame_shape(tiny2_preset, nvlabs_dir):
    # Height and width may change (fully convolutional); the channels come from the weights.
    model = zoo.load(tiny2_preset, weights=nvlabs_dir / PT, frame_shape=(24, 24, 1))
    assert model.frame_shape == (24, 24, 1)
    with pytest.raises(ValueError, match="channels"):
        zoo.load(tiny2_preset, weights=nvlabs_dir / PT, frame_shape=(16, 16, 3))
