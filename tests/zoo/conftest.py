"""Zoo tests never touch the real Keras cache, the internet, or leave presets registered."""

import http.server
import json
import threading

import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.models import VideoPredictor
from ctt_keras.zoo import registry

# The architecture of the official test network `tiny2` (tests/data/nvlabs).
TINY2 = dict(frame_shape=(16, 16, 1), layers_per_block=(2,), hidden_channels=(8,), skip_stride=None,
             kernel_size=3, order=3, steps=3, rank=4, output_sigmoid=False)


@pytest.fixture(autouse=True)
def keras_home(tmp_path, monkeypatch):
    """A private KERAS_HOME (cache `<tmp>/keras_home/models`), no mirror, no registrations left over."""
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv(zoo.MIRROR_VARIABLE, raising=False)
    registered = dict(registry._registered)
    yield home
    registry._registered.clear()
    registry._registered.update(registered)


def nhwc(a):
    """[B, T, C, H, W] (PyTorch) -> channels last."""
    return np.moveaxis(a, -3, -1)


def write_config_only_preset(directory, model, metadata):
    """A preset folder without weights (as the built-in official presets): config.json + metadata.json."""
    import keras

    directory.mkdir(parents=True)
    (directory / zoo.CONFIG_FILE).write_text(json.dumps(keras.saving.serialize_keras_object(model)))
    (directory / zoo.METADATA_FILE).write_text(json.dumps(metadata))
    return directory


@pytest.fixture
def tiny2_preset(tmp_path):
    """A registered preset with tiny2's architecture whose weights come from an official `.pt` file."""
    model = VideoPredictor(name="tiny2", **TINY2)
    metadata = {
        "frame_shape": [16, 16, 1],
        "official_checkpoint": {"file": "tiny2.pt", "url": "test", "license": zoo.NVIDIA_LICENSE},
        "license": zoo.NVIDIA_LICENSE,
    }
    zoo.register("tiny2_official", write_config_only_preset(tmp_path / "tiny2_official", model, metadata))
    return "tiny2_official"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.routes[path] = (kind, body)`; kinds: file, html, drop (cut midway), missing."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        self.server.requests.append(self.path)
        kind, body = self.server.routes.get(self.path, ("missing", b""))
        if kind == "missing":
            self.send_error(404)
            return
        self.send_response(200)
        html = kind == "html"
        self.send_header("Content-Type", "text/html; charset=utf-8" if html else "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "drop":  # half the promised bytes, then the connection goes away
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 in a thread: `.routes`, `.requests`, `.url(path)`."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.routes, server.requests = {}, []
    server.url = lambda path="": f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
