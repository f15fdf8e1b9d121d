"""Each write into the weights cache fails in turn, on a full disk or by a kill: the cache stays usable.

A first `zoo.load` of a preset built from NVIDIA's checkpoint fetches the `.pt` file (from a local HTTP
mirror, tests/zoo/conftest.py), converts it and caches the conversion; a first load of an `hf://` handle
fetches the preset's files. The fault injector (`tests/faults.py`) makes each of their writes fail in
turn. Afterwards every file under its final name in the cache is whole (the served bytes, or a
conversion its record vouches for; a conversion without a valid record is removed on the next read), a
full disk is reported as such (not as a broken download), leftovers are hidden `.partial` files or
`.<key>.conversion.*` folders, and the next load works and gives the same weights.
"""

import errno
import os
import warnings

import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.checkpoints import official
from tests import faults as faults_lib
from tests.zoo.test_official_downloads import FILE, PT, mirror, tiny_official  # noqa: F401  (fixtures)
from tests.zoo.test_preset_dir import CONTEXT, serve_preset, small_model


@pytest.fixture
def inject(monkeypatch):
    return faults_lib.Injector(monkeypatch)


def _load(preset):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the licence notice and "could not cache the conversion"
        return zoo.load(preset)


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def _use_cache(monkeypatch, folder):
    monkeypatch.setenv("KERAS_HOME", str(folder))
    return folder / "models"


def _failing_loads(monkeypatch, inject, tmp_path, load, kill):
    """Loads once to count the cache's writes, then once per write with that one failing; yields each."""
    cache = _use_cache(monkeypatch, tmp_path / "reference")
    counted = inject.use(faults_lib.Faults(cache))
    expected = _weights(load())
    inject.off()
    assert counted.events
    for fail_at, event in enumerate(counted.events, 1):
        cache = _use_cache(monkeypatch, tmp_path / f"fail-{fail_at}")
        inject.use(faults_lib.Faults(cache, fail_at=fail_at, kill=kill))
        try:
            loaded = load()
        except faults_lib.Killed:
            assert kill, event
            loaded = None
        except OSError as error:
            assert not kill and error.errno == errno.ENOSPC, (event, error)
            assert not isinstance(error, zoo.DownloadError), (event, error)  # the disk, not the network
            assert "No space left on device" in str(error), (event, error)
            loaded = None
        inject.off()
        if loaded is not None:  # the failure was only in caching the conversion: the weights are right
            assert all(np.array_equal(a, b) for a, b in zip(_weights(loaded), expected)), event
        yield event, cache, counted.events
        for a, b in zip(_weights(load()), expected):  # the next load works
            np.testing.assert_array_equal(a, b, err_msg=str(event))


def _hidden_leftovers(cache, kill, names):
    leftovers = sorted(set(os.listdir(cache)) - set(names)) if cache.is_dir() else []
    if kill:
        hidden = [n.startswith(".") and (n.endswith(".partial") or ".conversion." in n) for n in leftovers]
        assert all(hidden), leftovers
    else:
        assert not leftovers, leftovers


@pytest.mark.parametrize("kill", [False, True], ids=["full-disk", "kill"])
def test_official_checkpoint_cache_survives_each_failing_write(  # noqa: F811  (fixtures imported above)
        tiny_official, mirror, nvlabs_dir, inject, monkeypatch, tmp_path, kill):
    served = (nvlabs_dir / PT).read_bytes()
    mirror.routes[f"/mirror/{FILE}"] = ("file", served)
    final = (FILE, "tiny_official.weights.h5", "tiny_official.conversion.json")
    kinds = set()
    for event, cache, events in _failing_loads(monkeypatch, inject, tmp_path, lambda: _load(tiny_official),
                                               kill):
        kinds = {kind for kind, _ in events}
        _hidden_leftovers(cache, kill, final)
        if (cache / FILE).exists():
            assert (cache / FILE).read_bytes() == served, event
        # A conversion counts only with its record; a weights file without one is removed when read.
        converted = official.cached_conversion(cache, "tiny_official")
        if converted is None:
            assert not (cache / "tiny_official.weights.h5").exists(), event
        else:
            assert zoo.sha256_of(converted) == zoo.sha256_of(tmp_path / "reference" / "models" / final[1])
    assert {"create", "write", "fsync", "rename", "mkdir", "weights"} <= kinds, kinds


def test_hub_preset_cache_survives_each_failing_write(tmp_path, http_server, monkeypatch, inject):
    model = small_model()
    model.save_to_preset(tmp_path / "p")
    serve_preset(http_server, tmp_path / "p", "someone/small")
    monkeypatch.setenv("HF_ENDPOINT", http_server.url())
    expected = model.predict_frames(CONTEXT, 2).numpy()
    for event, cache, _ in _failing_loads(monkeypatch, inject, tmp_path, lambda: _load("hf://someone/small"),
                                          kill=True):
        folder = cache / "hub" / "hf" / "someone" / "small"
        _hidden_leftovers(folder, True, [p.name for p in (tmp_path / "p").iterdir()])
        for name in os.listdir(folder) if folder.is_dir() else []:
            if not name.startswith("."):
                assert (folder / name).read_bytes() == (tmp_path / "p" / name).read_bytes(), event
        if (folder / zoo.CONFIG_FILE).exists():  # config.json comes last: such a folder is complete
            assert sorted(n for n in os.listdir(folder) if not n.startswith(".")) == sorted(
                p.name for p in (tmp_path / "p").iterdir()), event
    np.testing.assert_array_equal(_load("hf://someone/small").predict_frames(CONTEXT, 2), expected)
