"""The preset folder format: save, load, checksum."""

import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.models import VideoPredictor


def test_preset_folder_round_trip(tmp_path):
    model = VideoPredictor((8, 8, 1), layers_per_block=(1,), hidden_channels=(4,), skip_stride=None,
                           kernel_size=3, rank=2, context_frames=2)
    metadata = zoo.save_preset(model, tmp_path / "p", metadata={"dataset": "moving_mnist"})
    assert metadata["weights_sha256"] == zoo.sha256_of(tmp_path / "p" / zoo.WEIGHTS_FILE)
    loaded = zoo.load_preset_dir(tmp_path / "p")
    assert loaded.get_config() == model.get_config()
    x = np.random.default_rng(0).random((1, 2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict_frames(x, 3), model.predict_frames(x, 3))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        zoo.save_preset(model, tmp_path / "p")
    with open(tmp_path / "p" / zoo.WEIGHTS_FILE, "r+b") as f:
        f.seek(-8, 2)
        f.write(b"corrupt!")
    with pytest.raises(ValueError, match="sha256"):
        zoo.load_preset_dir(tmp_path / "p")


# -- presets by folder, by hub handle, and keras-hub's from_preset / save_to_preset ------------------

import json  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402

import keras  # noqa: E402

from ctt_keras.models import EarlyActivityRecognizer  # noqa: E402


def small_model():
    return VideoPredictor((8, 8, 1), layers_per_block=(1,), hidden_channels=(4,), skip_stride=None,
                          kernel_size=3, rank=2, context_frames=2, name="small")


CONTEXT = np.random.default_rng(0).random((1, 2, 8, 8, 1), dtype=np.float32)


def test_save_to_preset_writes_keras_hub_files_and_from_preset_reads_them(tmp_path):
    model = small_model()
    model.save_to_preset(tmp_path / "p", metadata={"dataset": "unit test"})
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "README.md", "config.json", "metadata.json", "model.weights.h5"]
    assert (tmp_path / "p" / "README.md").read_text().startswith("# small\n")
    for preset in (tmp_path / "p", str(tmp_path / "p")):
        loaded = VideoPredictor.from_preset(preset)
        np.testing.assert_array_equal(loaded.predict_frames(CONTEXT, 3), model.predict_frames(CONTEXT, 3))
    assert zoo.info(tmp_path / "p")["weights_status"].startswith("bundled")
    np.testing.assert_array_equal(zoo.load(str(tmp_path / "p")).predict_frames(CONTEXT, 3),
                                  model.predict_frames(CONTEXT, 3))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save_to_preset(tmp_path / "p")
    untrained = VideoPredictor.from_preset(tmp_path / "p", load_weights=False)
    assert not np.allclose(untrained.predict_frames(CONTEXT, 3), model.predict_frames(CONTEXT, 3))


def test_from_preset_by_name_and_class_check():
    recognizer = EarlyActivityRecognizer.from_preset("ssv2_convttlstm", load_weights=False)
    assert type(recognizer) is EarlyActivityRecognizer
    assert type(VideoPredictor.from_preset("mmnist_convlstm_small", load_weights=False)) is VideoPredictor
    with pytest.raises(ValueError, match="holds a EarlyActivityRecognizer, not a VideoPredictor"):
        VideoPredictor.from_preset("ssv2_convttlstm", load_weights=False)


def test_a_folder_without_config_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json not found"):
        zoo.load(tmp_path)


def test_config_naming_another_class_is_refused(tmp_path):
    model = small_model()
    zoo.save_preset(model, tmp_path / "p")
    dense = keras.layers.Dense(3)
    (tmp_path / "p" / zoo.CONFIG_FILE).write_text(json.dumps(keras.saving.serialize_keras_object(dense)))
    with pytest.raises(ValueError, match="names keras.layers.Dense, which is not a ctt_keras model"):
        zoo.load(tmp_path / "p", weights=False)
    zoo.register("renamed", tmp_path / "p")
    with pytest.raises(ValueError, match="not a ctt_keras model"):
        zoo.load("renamed")
    with pytest.raises(ValueError, match="not a ctt_keras model"):
        zoo.load_preset_dir(tmp_path / "p")


@pytest.mark.parametrize("field", ["official", "weights_file"])
@pytest.mark.parametrize("escape", ["absolute", "parent"])
def test_metadata_file_names_cannot_reach_a_users_files(tmp_path, keras_home, field, escape):
    # A bad file of the user's, reachable by an absolute path or by climbing out of the cache.
    victim = keras_home / "victim.pt" if escape == "parent" else tmp_path / "victim.pt"
    victim.parent.mkdir(parents=True, exist_ok=True)
    victim.write_bytes(b"the user's own file, not a checkpoint")
    name = str(victim) if escape == "absolute" else "../victim.pt"
    model = small_model()
    metadata = ({"official_checkpoint": {"file": name, "url": "x", "license": "x"}} if field == "official"
                else {"weights_file": name})
    from tests.zoo.conftest import write_config_only_preset

    folder = write_config_only_preset(tmp_path / "evil", model, metadata)
    with pytest.raises(ValueError, match="must be a plain file name"):
        zoo.load(folder)
    with pytest.raises(ValueError, match="must be a plain file name"):
        zoo.register("evil", folder)
    assert victim.read_bytes() == b"the user's own file, not a checkpoint"
    assert not victim.with_name("victim.pt.corrupt").exists()


def serve_preset(http_server, folder, repo, skip=()):
    for path in folder.iterdir():
        if path.name not in skip:
            http_server.routes[f"/{repo}/resolve/main/{path.name}"] = ("file", path.read_bytes())


def test_hf_handle_is_fetched_once_into_the_cache(tmp_path, http_server, monkeypatch, keras_home):
    model = small_model()
    model.save_to_preset(tmp_path / "p")
    serve_preset(http_server, tmp_path / "p", "someone/small", skip=("README.md",))
    monkeypatch.setenv("HF_ENDPOINT", http_server.url())
    loaded = VideoPredictor.from_preset("hf://someone/small")
    np.testing.assert_array_equal(loaded.predict_frames(CONTEXT, 3), model.predict_frames(CONTEXT, 3))
    assert (keras_home / "models" / "hub" / "hf" / "someone" / "small" / zoo.WEIGHTS_FILE).is_file()
    count = len(http_server.requests)
    zoo.load("hf://someone/small")
    assert len(http_server.requests) == count


def test_hf_handle_offline_and_malformed(http_server, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", http_server.url())
    http_server.shutdown()
    http_server.server_close()
    with pytest.raises(zoo.DownloadError, match="(?s)no network.*pass that folder to zoo.load"):
        zoo.load("hf://someone/small")
    with pytest.raises(ValueError, match="expected hf://owner/repo"):
        zoo.load("hf://../../etc")


def test_kaggle_handle_needs_kagglehub_and_uses_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # not installed
    with pytest.raises(zoo.DownloadError, match="needs the kagglehub package"):
        zoo.load("kaggle://someone/small/keras/v1")
    model = small_model()
    model.save_to_preset(tmp_path / "p")
    calls = []
    fake = types.SimpleNamespace(model_download=lambda handle: calls.append(handle) or str(tmp_path / "p"))
    monkeypatch.setitem(sys.modules, "kagglehub", fake)
    loaded = zoo.load("kaggle://someone/small/keras/v1")
    assert calls == ["someone/small/keras/v1"]
    np.testing.assert_array_equal(loaded.predict_frames(CONTEXT, 3), model.predict_frames(CONTEXT, 3))
