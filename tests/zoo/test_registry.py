"""The preset registry: built-in presets, list / info / load / register, remote weights, bad input."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ctt_keras import checkpoints, zoo
from ctt_keras.losses import L1L2Loss
from ctt_keras.models import EarlyActivityRecognizer, VideoPredictor
from tests.zoo.conftest import write_config_only_preset

BUILTIN = ["kth_convlstm", "kth_convttlstm", "mmnist_convlstm", "mmnist_convlstm_small", "mmnist_convttlstm",
           "mmnist_convttlstm_small", "ssv2_convlstm", "ssv2_convttlstm"]
MODEL_CLASS = {name: EarlyActivityRecognizer if name.startswith("ssv2_") else VideoPredictor
               for name in BUILTIN}
PAPER = dict(layers_per_block=(3, 3, 3, 3), hidden_channels=(32, 48, 48, 32), skip_stride=2,
             kernel_size=(5, 5))
# The paper's networks at one channel (the official code's parameter counts).
PAPER_PARAMS = {"convttlstm": 2_687_281, "convlstm": 3_973_201}
REQUIRED_METADATA = ("name", "dataset", "frame_shape", "context_frames", "future_frames", "license", "source",
                     "weights_file", "weights_sha256", "metrics", "training_command")


def small_model(**kwargs):
    return VideoPredictor((8, 8, 1), layers_per_block=(1,), hidden_channels=(4,), skip_stride=None,
                          kernel_size=3, rank=2, context_frames=2, **kwargs)


def test_builtin_presets_are_listed():
    assert set(BUILTIN) <= set(zoo.list())
    assert zoo.list() == sorted(zoo.list())


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_preset_folder_is_complete_and_builds(name):
    info = zoo.info(name)
    missing = [key for key in REQUIRED_METADATA if key not in info]
    assert not missing, f"{name}: metadata lacks {missing}"
    assert info["name"] == name
    card = (zoo.BUILTIN_DIR / name / zoo.MODEL_CARD_FILE).read_text()
    assert card.startswith(f"# {name}\n") and info["license"] in card
    model = zoo.load(name, weights=False)
    assert type(model) is MODEL_CLASS[name]
    assert model.frame_shape == tuple(info["frame_shape"])
    assert model.context_frames == info["context_frames"] == 10
    assert model.count_params() == info["num_params"]
    # No preset ships weights that were not obtained here: every bundled file must be recorded by sha256.
    bundled = zoo.BUILTIN_DIR / name / info["weights_file"]
    assert bundled.is_file() == bool(info["weights_sha256"])


@pytest.mark.parametrize("name", ["mmnist_convttlstm", "mmnist_convlstm", "kth_convttlstm", "kth_convlstm"])
def test_paper_presets_have_the_paper_configuration(name):
    model = zoo.load(name, weights=False)
    size = 64 if name.startswith("mmnist") else 128
    assert model.frame_shape == (size, size, 1)
    config = model.get_config()
    assert {k: config[k] for k in PAPER} == PAPER
    assert config["output_sigmoid"] is False
    assert model.count_params() == PAPER_PARAMS[model.cell_type]
    if model.cell_type == "convttlstm":
        assert (model.order, model.steps, model.rank) == (3, 3, 8)


@pytest.mark.parametrize("name, checkpoint", [("mmnist_convttlstm", "convttlstm-mnist.pt"),
                                              ("kth_convttlstm", "convttlstm-kth.pt")])
def test_official_presets_carry_the_nvidia_licence_and_conversion_route(name, checkpoint):
    info = zoo.info(name)
    assert info["license"] == zoo.NVIDIA_LICENSE == "NVIDIA Source Code License-NC (non-commercial)"
    assert info["official_checkpoint"]["file"] == checkpoint
    assert info["official_checkpoint"]["license"] == zoo.NVIDIA_LICENSE
    assert info["official_checkpoint"]["output_sigmoid"] is False
    # NVIDIA's published links (eval_paper/README.md of the official code), fetched on first use.
    assert info["official_checkpoint"]["url"].startswith("https://drive.google.com/file/d/")
    assert info["weights_status"].startswith(
        f"downloadable on first load from {info['official_checkpoint']['download_url']}")


def test_unknown_preset_lists_the_available_names():
    with pytest.raises(ValueError, match="unknown preset 'mnist_ttlstm'") as error:
        zoo.load("mnist_ttlstm")
    for name in BUILTIN:
        assert name in str(error.value)
    with pytest.raises(ValueError, match="available presets"):
        zoo.info("mnist_ttlstm")


@pytest.mark.parametrize("name", ["mmnist_convttlstm", "mmnist_convlstm"])
def test_missing_weights_say_which_file_to_put_where(name, keras_home):
    with pytest.raises(FileNotFoundError) as error:
        zoo.load(name)
    message = str(error.value)
    assert "weights=False" in message
    if name == "mmnist_convttlstm":  # offline: the download fails, the message says what to do by hand
        assert isinstance(error.value, zoo.DownloadError) and "no network" in message
        assert str(keras_home / "models" / "convttlstm-mnist.pt") in message
        assert "weights='path/to/convttlstm-mnist.pt'" in message
        assert "https://drive.google.com/file/d/1MnK1ftUJgB0H4QOS-k4CVkwtBUjHtSO-" in message
    else:
        assert str(zoo.BUILTIN_DIR / name) in message and zoo.WEIGHTS_FILE in message


def test_registered_preset_round_trip_and_compile(tmp_path):
    model = small_model()
    zoo.save_preset(model, tmp_path / "mine", metadata={"dataset": "unit test"})
    assert zoo.register("my_preset", tmp_path / "mine") == (tmp_path / "mine").resolve()
    assert "my_preset" in zoo.list()
    assert zoo.info("my_preset")["weights_status"].startswith("bundled")
    loaded = zoo.load("my_preset", compile=True)
    x = np.random.default_rng(1).random((2, 2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict_frames(x, 3), model.predict_frames(x, 3))
    assert isinstance(loaded.loss, L1L2Loss) and loaded.optimizer is not None
    assert getattr(zoo.load("my_preset"), "optimizer", None) is None  # compile=False by default
    zoo.unregister("my_preset")
    assert "my_preset" not in zoo.list()


def test_register_refuses_bad_names_folders_and_silent_replacement(tmp_path):
    zoo.save_preset(small_model(), tmp_path / "a")
    zoo.save_preset(small_model(), tmp_path / "b")
    with pytest.raises(ValueError, match="built-in"):
        zoo.register("mmnist_convttlstm", tmp_path / "a")
    with pytest.raises(ValueError, match="preset name"):
        zoo.register("../evil", tmp_path / "a")
    with pytest.raises(FileNotFoundError, match="config.json"):
        zoo.register("empty", tmp_path)
    zoo.register("mine", tmp_path / "a")
    zoo.register("mine", tmp_path / "a")  # the same folder again is fine
    with pytest.raises(ValueError, match="overwrite=True"):
        zoo.register("mine", tmp_path / "b")
    zoo.register("mine", tmp_path / "b", overwrite=True)
    assert zoo.info("mine")["directory"] == str((tmp_path / "b").resolve())


def test_frame_shape_override(tmp_path):
    model = small_model()
    zoo.save_preset(model, tmp_path / "p")
    zoo.register("p", tmp_path / "p")
    wide = zoo.load("p", frame_shape=(12, 20, 1))
    assert wide.frame_shape == (12, 20, 1)
    for ours, theirs in zip(wide.weights, model.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match=r"channels \(1\) may not"):
        zoo.load("p", frame_shape=(8, 8, 3))


def test_weights_from_another_architecture_are_refused(tmp_path):
    zoo.save_preset(small_model(), tmp_path / "p")
    zoo.register("p", tmp_path / "p")
    other = VideoPredictor((8, 8, 1), layers_per_block=(2,), hidden_channels=(4,), skip_stride=None,
                           kernel_size=3, rank=2)
    other.save_weights(tmp_path / "other.weights.h5")
    # Keras itself would load this file silently (the extra cell is ignored); the zoo refuses it.
    with pytest.raises(ValueError, match="unexpected: cells/conv_ttlstm_cell_1"):
        zoo.load("p", weights=tmp_path / "other.weights.h5")
    (tmp_path / "junk.weights.h5").write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match="unreadable"):
        zoo.load("p", weights=tmp_path / "junk.weights.h5")
    assert (tmp_path / "junk.weights.h5").exists()  # a user's own file is never deleted
    with pytest.raises(ValueError, match="expected a Keras '.weights.h5'"):
        zoo.load("p", weights=tmp_path / "p" / "config.json")
    with pytest.raises(FileNotFoundError, match="nowhere.weights.h5"):
        zoo.load("p", weights=tmp_path / "nowhere.weights.h5")


# -- remote weights (served by a real HTTP server on 127.0.0.1) ------------------------------------


@pytest.fixture
def remote_preset(tmp_path, http_server):
    """A registered preset whose weights are fetched from the local server, plus the true weights file."""
    model = small_model(name="remote")
    model.save_weights(tmp_path / "served.weights.h5")
    http_server.routes["/remote.weights.h5"] = ("file", (tmp_path / "served.weights.h5").read_bytes())
    metadata = {"weights_url": http_server.url("/remote.weights.h5"),
                "weights_sha256": zoo.sha256_of(tmp_path / "served.weights.h5")}
    zoo.register("remote", write_config_only_preset(tmp_path / "remote", model, metadata))
    return model, tmp_path / "served.weights.h5"


def test_remote_weights_are_fetched_into_the_cache_with_sha256(remote_preset, http_server, keras_home):
    model, served = remote_preset
    loaded = zoo.load("remote")
    assert http_server.requests == ["/remote.weights.h5"]
    assert zoo.sha256_of(keras_home / "models" / "remote.weights.h5") == zoo.sha256_of(served)
    for ours, theirs in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    zoo.load("remote")
    assert http_server.requests == ["/remote.weights.h5"]  # the cached copy is reused
    assert zoo.info("remote")["weights_status"].startswith("cached")


def test_remote_weights_with_a_wrong_hash_are_refused(remote_preset, http_server, keras_home, tmp_path):
    impostor = tmp_path / "impostor.weights.h5"
    small_model(seed=3).save_weights(impostor)
    http_server.routes["/remote.weights.h5"] = ("file", impostor.read_bytes())
    with pytest.raises(zoo.DownloadError, match="sha256 is .* expected .*refused"):
        zoo.load("remote")
    assert not any((keras_home / "models").iterdir())  # nothing kept, not even a partial file


def test_remote_weights_without_network_say_where_to_put_the_file(remote_preset, http_server, keras_home):
    http_server.shutdown()
    http_server.server_close()  # nothing listens there any more: connection refused
    with pytest.raises(FileNotFoundError) as error:
        zoo.load("remote")
    assert str(keras_home / "models" / "remote.weights.h5") in str(error.value)
    assert "weights=False" in str(error.value)
    assert zoo.load("remote", weights=False).count_params() > 0


def test_metadata_json_errors_name_the_file(tmp_path):
    zoo.save_preset(small_model(), tmp_path / "p")
    (tmp_path / "p" / zoo.METADATA_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="metadata.json is not valid JSON"):
        zoo.register("p", tmp_path / "p")
    json.loads((tmp_path / "p" / zoo.CONFIG_FILE).read_text())  # the rest is untouched


def test_builtin_preset_files_are_what_the_generator_writes(tmp_path):
    # zoo/_make_presets.py is the single source of the built-in configs, metadata and cards.
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_presets", zoo.BUILTIN_DIR / "_make_presets.py")
    make_presets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_presets)
    assert sorted(make_presets.PRESETS) == BUILTIN
    for name in BUILTIN:
        shipped = zoo.BUILTIN_DIR / name
        if (shipped / zoo.WEIGHTS_FILE).is_file():
            # A folder with trained weights keeps what training recorded: give the generator that folder.
            (tmp_path / name).mkdir()
            for file in (zoo.WEIGHTS_FILE, zoo.METADATA_FILE):
                shutil.copy(shipped / file, tmp_path / name / file)
        fresh = make_presets.write(name, tmp_path)
        for file in (zoo.METADATA_FILE, zoo.MODEL_CARD_FILE):
            assert (fresh / file).read_text() == (shipped / file).read_text(), f"{name}/{file} is stale"
        fresh_config = json.loads((fresh / zoo.CONFIG_FILE).read_text())["config"]
        assert json.loads((shipped / zoo.CONFIG_FILE).read_text())["config"] == fresh_config


def test_zoo_and_checkpoints_do_not_import_tensorflow():
    import ast
    import pathlib

    import ctt_keras

    package = pathlib.Path(ctt_keras.__file__).parent
    for path in sorted((package / "zoo").glob("*.py")) + sorted((package / "checkpoints").glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert "tensorflow" not in imported, path


_JAX_SCRIPT = """
import sys, numpy as np
from ctt_keras import zoo, checkpoints
import keras
assert keras.backend.backend() == "jax" and "tensorflow" not in sys.modules, sorted(sys.modules)[:5]
model = zoo.load("mmnist_convttlstm_small")
context = np.random.default_rng(0).random((2, 10, 64, 64, 1), dtype=np.float32)
np.save(sys.argv[1], np.asarray(model.predict_frames(context, 5)))
official = checkpoints.from_nvlabs(sys.argv[2], frame_shape=(16, 16, 1))
data = np.load(sys.argv[3])
got = np.asarray(official.predict_frames(np.moveaxis(data["input"], -3, -1), 10))
np.testing.assert_allclose(got, np.moveaxis(data["output"], -3, -1), atol=1e-5, rtol=0)
assert "tensorflow" not in sys.modules
"""


def test_zoo_and_checkpoints_run_on_jax_without_tensorflow(tmp_path, nvlabs_dir):
    pytest.importorskip("jax")
    env = {**__import__("os").environ, "KERAS_BACKEND": "jax", "KERAS_HOME": str(tmp_path / "home")}
    # Make `import tensorflow` fail in the child: the zoo and the converter must not need it.
    (tmp_path / "block").mkdir()
    blocker = "raise ImportError('tensorflow is blocked in this test')\n"
    (tmp_path / "block" / "tensorflow.py").write_text(blocker)
    root = str(__import__("pathlib").Path(zoo.__file__).resolve().parents[2])
    env["PYTHONPATH"] = f"{tmp_path / 'block'}:{root}"
    result = subprocess.run(
        [sys.executable, "-c", _JAX_SCRIPT, str(tmp_path / "jax.npy"),
         str(nvlabs_dir / "nvlabs_tiny2_eval_paper_format.pt"), str(nvlabs_dir / "vectors_tiny2.npz")],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    context = np.random.default_rng(0).random((2, 10, 64, 64, 1), dtype=np.float32)
    expected = zoo.load("mmnist_convttlstm_small").predict_frames(context, 5).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "jax.npy"), expected, atol=1e-5, rtol=0)


def test_read_only_cache_still_loads_official_weights(tmp_path, monkeypatch, nvlabs_dir, tiny2_preset):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(checkpoints.official, "write_conversion", refuse)
    with pytest.warns(UserWarning, match="could not cache"):
        model = zoo.load(tiny2_preset, weights=nvlabs_dir / "nvlabs_tiny2_eval_paper_format.pt")
    data = np.load(nvlabs_dir / "vectors_tiny2.npz")
    np.testing.assert_allclose(model.predict_frames(np.moveaxis(data["input"], -3, -1), 10).numpy(),
                               np.moveaxis(data["output"], -3, -1), atol=1e-5, rtol=0)
