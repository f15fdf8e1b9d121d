"""`tools/export.py`: a preset (name or folder) to a TF Serving SavedModel, end to end."""

import importlib.util
import json

import numpy as np
import pytest
import tensorflow as tf

from ctt_keras import zoo
from ctt_keras.models import VideoPredictor
from tests.zoo.conftest import TINY2, keras_home, nhwc, write_config_only_preset  # noqa: F401  (fixture)

TOOL = zoo.BUILTIN_DIR.parent / "tools" / "export.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("export_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_official_checkpoint_preset_folder_exports_the_official_numbers(tool, nvlabs_dir, tmp_path):
    folder = write_config_only_preset(
        tmp_path / "tiny2_official", VideoPredictor(name="tiny2", **TINY2),
        {"context_frames": 10, "future_frames": 10,
         "official_checkpoint": {"file": "tiny2.pt", "url": "test"}},
    )
    pt = nvlabs_dir / "nvlabs_tiny2_eval_paper_format.pt"
    arguments = [str(folder), "--out", str(tmp_path / "serving"), "--weights", str(pt), "--version", "3"]
    target = tool.main(arguments)
    assert target == tmp_path / "serving" / "tiny2_official" / "3"
    info = json.loads((target / "assets.extra" / "ctt_keras_export.json").read_text())
    assert (info["model_name"], info["version"], info["context_frames"], info["future_frames"]) == (
        "tiny2_official", 3, 10, 10)
    data = np.load(nvlabs_dir / "vectors_tiny2.npz")
    served = tf.saved_model.load(str(target)).signatures["serving_default"]
    predictions = served(frames=tf.constant(nhwc(data["input"])))["predictions"].numpy()
    np.testing.assert_allclose(predictions, nhwc(data["output"]), atol=1e-5, rtol=0)
    with pytest.raises(SystemExit) as exit_:  # an existing version is kept: a message, exit code 2
        tool.main(arguments)
    assert exit_.value.code == 2


def test_preset_without_weights_is_refused_unless_asked(tool, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        tool.main(["mmnist_convlstm", "--out", str(tmp_path)])
    assert exit_.value.code == 2 and "weights=False" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_paper_sized_preset_exports_and_matches_keras(tmp_path):
    # Random weights (the official checkpoint is not available here): the check is served == Keras.
    from ctt_keras.export import export_saved_model

    model = zoo.load("mmnist_convttlstm", weights=False)
    target = export_saved_model(model, tmp_path, context_frames=10, future_frames=3)
    context = np.random.default_rng(0).random((1, 10, 64, 64, 1), dtype=np.float32)
    served = tf.saved_model.load(str(target)).signatures["serving_default"](frames=tf.constant(context))
    np.testing.assert_allclose(served["predictions"].numpy(), model.predict_frames(context, 3).numpy(),
                               atol=1e-5, rtol=0)


# ONNX converts three unrolled graphs (about 100 s here): slow; the library's ONNX export is tested in
# test_formats.py.
@pytest.mark.parametrize("export_format", ["litert", pytest.param("onnx", marks=pytest.mark.slow)])
def test_other_formats_from_the_command_line_serve_the_official_numbers(
    tool, nvlabs_dir, tmp_path, export_format
):
    runtime = "ai_edge_litert" if export_format == "litert" else "onnxruntime"
    pytest.importorskip(runtime, reason=f"checking a {export_format} export needs {runtime}")
    if export_format == "onnx":
        pytest.importorskip("tf2onnx", reason="ONNX export needs tf2onnx")
    folder = write_config_only_preset(
        tmp_path / "tiny2_official", VideoPredictor(name="tiny2", **TINY2),
        {"context_frames": 10, "future_frames": 10,
         "official_checkpoint": {"file": "tiny2.pt", "url": "test"}},
    )
    pt = nvlabs_dir / "nvlabs_tiny2_eval_paper_format.pt"
    arguments = [str(folder), "--out", str(tmp_path / "out"), "--weights", str(pt), "--format", export_format]
    target = tool.main(arguments)
    info = json.loads((target / "ctt_keras_export.json").read_text())
    assert (info["format"], info["context_frames"], info["future_frames"]) == (export_format, 10, 10)
    data = np.load(nvlabs_dir / "vectors_tiny2.npz")
    context = nhwc(data["input"])
    if export_format == "litert":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(target / "tiny2_official.tflite"))
        runner = interpreter.get_signature_runner("serving_default")
        predictions = runner(frames=context)["predictions"]
    else:
        import onnxruntime

        session = onnxruntime.InferenceSession(str(target / "serving_default.onnx"))
        predictions = session.run(["predictions"], {"frames": context})[0]
        assert sorted(p.name for p in target.glob("*.onnx")) == ["initial_state.onnx", "serving_default.onnx",
                                                                  "step.onnx"]
    np.testing.assert_allclose(predictions, nhwc(data["output"]), atol=1e-5, rtol=0)
