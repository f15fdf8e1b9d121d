"""NVIDIA's checkpoints fetched on first use, against a real HTTP server on 127.0.0.1 (never the internet).

The served file is the official test network `tiny2` in the published checkpoint layout
(tests/data/nvlabs). It is registered as a preset with tiny2's architecture and the published file
name, so the structural check that guards the real presets (the architecture inferred from the
checkpoint must be the preset's) is the same code, only against tiny2's architecture; the real
presets still refuse it (last test).
"""

import json
import warnings

import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.checkpoints import official
from ctt_keras.models import VideoPredictor
from tests.zoo.conftest import TINY2, nhwc, write_config_only_preset

PT = "nvlabs_tiny2_eval_paper_format.pt"
FILE = "convttlstm-mnist.pt"


@pytest.fixture
def tiny_official(tmp_path):
    """A registered preset like mmnist_convttlstm (no weights, an official_checkpoint), tiny2's network."""
    metadata = {"frame_shape": [16, 16, 1], "license": zoo.NVIDIA_LICENSE,
                "official_checkpoint": {"file": FILE, "url": official.published_page(FILE),
                                        "download_url": official.published_download(FILE),
                                        "license": zoo.NVIDIA_LICENSE}}
    model = VideoPredictor(name="tiny_official", **TINY2)
    zoo.register("tiny_official", write_config_only_preset(tmp_path / "tiny_official", model, metadata))
    return "tiny_official"


@pytest.fixture
def mirror(http_server, monkeypatch):
    monkeypatch.setenv(zoo.MIRROR_VARIABLE, http_server.url("/mirror/"))
    return http_server


def cache_files(keras_home):
    folder = keras_home / "models"
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_good_file_is_fetched_converted_cached_and_licensed_once(tiny_official, mirror, nvlabs_dir,
                                                                  keras_home):
    mirror.routes[f"/mirror/{FILE}"] = ("file", (nvlabs_dir / PT).read_bytes())
    assert zoo.info(tiny_official)["weights_status"] == (
        f"downloadable on first load from {mirror.url('/mirror/' + FILE)} (then converted and cached)")
    with pytest.warns(zoo.OfficialWeightsNotice, match="NVIDIA Source Code License-NC"):
        model = zoo.load(tiny_official)
    data = np.load(nvlabs_dir / "vectors_tiny2.npz")
    np.testing.assert_allclose(model.predict_frames(nhwc(data["input"]), 10).numpy(), nhwc(data["output"]),
                               atol=1e-5, rtol=0)
    assert mirror.requests == [f"/mirror/{FILE}"]
    assert cache_files(keras_home) == [FILE, "tiny_official.conversion.json", "tiny_official.weights.h5"]
    record = json.loads((keras_home / "models" / "tiny_official.conversion.json").read_text())
    assert record["source_url"] == mirror.url(f"/mirror/{FILE}")
    assert record["source_sha256"] == zoo.sha256_of(nvlabs_dir / PT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zoo.load(tiny_official)
    assert not [w for w in caught if issubclass(w.category, zoo.OfficialWeightsNotice)]  # shown once only
    assert mirror.requests == [f"/mirror/{FILE}"]


def test_html_interstitial_is_refused_with_the_manual_steps(tiny_official, mirror, keras_home):
    page = b"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head></html>"
    mirror.routes[f"/mirror/{FILE}"] = ("html", page)
    with pytest.raises(zoo.DownloadError) as error:
        zoo.load(tiny_official)
    message = str(error.value)
    assert "web page (HTML), not the file" in message
    assert official.published_page(FILE) in message  # where to get it by hand ...
    assert str(keras_home / "models" / FILE) in message  # ... and where to put it
    assert cache_files(keras_home) == []


def test_html_without_the_content_type_is_recognised_too(tiny_official, mirror, keras_home):
    mirror.routes[f"/mirror/{FILE}"] = ("file", b"\n  <html><body>Quota exceeded</body></html>")
    with pytest.raises(zoo.DownloadError, match="HTML"):
        zoo.load(tiny_official)
    assert cache_files(keras_home) == []


def test_truncated_file_is_refused_and_nothing_stays_in_the_cache(tiny_official, mirror, nvlabs_dir,
                                                                   keras_home):
    data = (nvlabs_dir / PT).read_bytes()
    mirror.routes[f"/mirror/{FILE}"] = ("file", data[: len(data) // 2])  # a complete response of half a file
    expected = "(?s)cannot read the checkpoint.*truncated.*downloaded file was removed"
    with pytest.raises(ValueError, match=expected):
        zoo.load(tiny_official)
    assert cache_files(keras_home) == []


def test_connection_dropped_midway_keeps_nothing(tiny_official, mirror, nvlabs_dir, keras_home):
    data = (nvlabs_dir / PT).read_bytes()
    mirror.routes[f"/mirror/{FILE}"] = ("drop", data)
    expected = f"(broke off|truncated: {len(data) // 2} of {len(data)} bytes)"
    with pytest.raises(zoo.DownloadError, match=expected):
        zoo.load(tiny_official)
    assert cache_files(keras_home) == []
    mirror.routes[f"/mirror/{FILE}"] = ("file", data)  # a later try succeeds from scratch
    with pytest.warns(zoo.OfficialWeightsNotice):
        zoo.load(tiny_official)


def test_no_network_says_what_to_download_and_where(tiny_official, http_server, monkeypatch, keras_home):
    http_server.shutdown()
    http_server.server_close()  # the mirror's port now refuses connections
    monkeypatch.setenv(zoo.MIRROR_VARIABLE, http_server.url("/mirror"))
    with pytest.raises(zoo.DownloadError) as error:
        zoo.load(tiny_official)
    message = str(error.value)
    assert "no network" in message and f"download the official checkpoint {FILE}" in message
    assert official.published_page(FILE) in message and str(keras_home / "models" / FILE) in message
    assert "weights=False" in message
    assert cache_files(keras_home) == []


def test_without_a_mirror_the_published_link_is_used(tiny_official, keras_home):
    status = zoo.info(tiny_official)["weights_status"]
    assert official.published_download(FILE) in status
    assert official.PUBLISHED[FILE] in official.published_download(FILE)
    with pytest.raises(zoo.DownloadError, match="drive.usercontent.google.com.*no network"):
        zoo.load(tiny_official)  # the test run is offline: the lookup fails before any traffic


def test_the_real_preset_refuses_a_file_of_another_network(mirror, nvlabs_dir, keras_home):
    mirror.routes[f"/mirror/{FILE}"] = ("file", (nvlabs_dir / PT).read_bytes())
    expected = "(?s)is not the network of preset 'mmnist_convttlstm'.*hidden_channels"
    with pytest.raises(ValueError, match=expected):
        zoo.load("mmnist_convttlstm")
    assert cache_files(keras_home) == []
