"""`model.export` (SavedModel, ONNX, LiteRT) and `tf.saved_model.save` of a `VideoPredictor`.

Each artifact is run in a fresh Python process that never imports ctt_keras (the ONNX and LiteRT ones
not even TensorFlow): its `serving_default` must equal `predict_frames`, and its `step` signature, fed
from `initial_state` with the context and then its own predictions, every output of the Keras rollout.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import keras
from ctt_keras.models import VideoPredictor

CONTEXT, FUTURE = 3, 4


@pytest.fixture(scope="module")
def case():
    keras.utils.set_random_seed(0)
    # patch_size=2: the cells run on 8x8 with 4 channels; the signatures still take 16x16x1 frames.
    model = VideoPredictor(
        (16, 16, 1),
        layers_per_block=(1, 1),
        hidden_channels=(4, 4),
        skip_stride=1,
        kernel_size=3,
        order=2,
        steps=3,
        rank=2,
        context_frames=CONTEXT,
        patch_size=2,
        output_sigmoid=True,
        name="tiny",
    )
    context = np.random.default_rng(0).random((2, CONTEXT, 16, 16, 1), dtype=np.float32)
    expected = model.predict_frames(context, FUTURE).numpy()
    expected_all = model.predict_frames(context, FUTURE, return_all_steps=True).numpy()
    return model, context, expected, expected_all


_COMMON = """
import sys
import numpy as np

def rollout(run_step, states, context, steps):
    outputs = []
    for t in range(steps):
        frame = context[:, t] if t < context.shape[1] else outputs[-1]
        result = run_step(frame, states)
        outputs.append(result.pop("prediction"))
        states = result
    return np.stack(outputs, 1)

def finish(path, predictions, steps, banned):
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in banned)
    np.savez(path, predictions=predictions, steps=steps, leaked=np.array(leaked, dtype=str))
"""

_SAVED_MODEL = _COMMON + """
import tensorflow as tf
context = np.load(sys.argv[2])["context"]
results = {}
for index, folder in enumerate(sys.argv[1].split(",")):
    loaded = tf.saved_model.load(folder)
    results[f"predictions_{index}"] = loaded.signatures["serving_default"](frames=tf.constant(context))[
        "predictions"].numpy()
    if "step" in loaded.signatures:
        states = loaded.signatures["initial_state"](batch_size=tf.constant(context.shape[0]))
        step = loaded.signatures["step"]
        run = lambda frame, s: {k: v.numpy() for k, v in step(frame=tf.constant(frame), **s).items()}
        results[f"steps_{index}"] = rollout(run, {k: v.numpy() for k, v in states.items()}, context,
                                            int(sys.argv[4]))
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("ctt_keras", "pipelines"))
np.savez(sys.argv[3], leaked=np.array(leaked, dtype=str), **results)
"""

_ONNX = _COMMON + """
import onnxruntime as ort
folder = sys.argv[1]
context = np.load(sys.argv[2])["context"]
def session(name):
    return ort.InferenceSession(f"{folder}/{name}.onnx", providers=["CPUExecutionProvider"])
def call(sess, feeds):
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))
predictions = call(session("serving_default"), {"frames": context})["predictions"]
states = call(session("initial_state"), {"batch_size": np.array(context.shape[0], np.int32)})
step = session("step")
def run_step(frame, s):
    result = call(step, {"frame": frame, **s})
    return {k.replace("next_", ""): v for k, v in result.items()}
steps = rollout(run_step, states, context, int(sys.argv[4]))
finish(sys.argv[3], predictions, steps, ("ctt_keras", "pipelines", "tensorflow", "keras"))
"""

_LITERT = _COMMON + """
from ai_edge_litert.interpreter import Interpreter
interpreter = Interpreter(model_path=sys.argv[1])
context = np.load(sys.argv[2])["context"]
predictions = interpreter.get_signature_runner("serving_default")(frames=context)["predictions"]
states = interpreter.get_signature_runner("initial_state")(batch_size=np.array(context.shape[0], np.int32))
step = interpreter.get_signature_runner("step")
steps = rollout(lambda frame, s: dict(step(frame=frame, **s)), dict(states), context, int(sys.argv[4]))
finish(sys.argv[3], predictions, steps, ("ctt_keras", "pipelines", "tensorflow", "keras"))
"""


def _serve_in_fresh_process(script, artifact, context, tmp_path, steps=CONTEXT + FUTURE - 1):
    np.savez(tmp_path / "in.npz", context=context)
    (tmp_path / "serve.py").write_text(textwrap.dedent(script))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run(
        [sys.executable, "serve.py", str(artifact), "in.npz", "out.npz", str(steps)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = np.load(tmp_path / "out.npz", allow_pickle=True)
    assert out["leaked"].tolist() == []
    return out


def _check(out, case, with_steps=True):
    _, _, expected, expected_all = case
    np.testing.assert_allclose(out["predictions"], expected, atol=1e-5, rtol=0)
    if with_steps:
        np.testing.assert_allclose(out["steps"], expected_all, atol=1e-5, rtol=0)


def test_model_export_and_tf_saved_model_save(case, tmp_path):
    model, context, expected, expected_all = case
    path = model.export(tmp_path / "saved", future_frames=FUTURE)
    info = json.loads((path / "assets.extra" / "ctt_keras_export.json").read_text())
    assert info["signatures"]["serving_default"]["outputs"]["predictions"] == [None, FUTURE, 16, 16, 1]
    assert [s["role"] for s in info["state_layout"][0]["states"]] == ["h", "c", "p_1", "p_2", "p_3"]
    assert info["state_layout"][0]["states"][0]["shape"] == [None, 8, 8, 4]  # the folded 8x8 grid
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.export(tmp_path / "saved", future_frames=FUTURE)
    # tf.saved_model.save serves the model's context_frames -> as many frames.
    tf.saved_model.save(model, str(tmp_path / "plain"))
    out = _serve_in_fresh_process(
        _SAVED_MODEL, f"{tmp_path / 'saved'},{tmp_path / 'plain'}", context, tmp_path
    )
    np.testing.assert_allclose(out["predictions_0"], expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(out["steps_0"], expected_all, atol=1e-5, rtol=0)
    np.testing.assert_allclose(
        out["predictions_1"], model.predict_frames(context, CONTEXT).numpy(), atol=1e-5, rtol=0
    )


def test_keras_export_of_call_with_a_static_clip_signature(case, tmp_path):
    model, *_ = case
    clip = np.random.default_rng(1).random((2, CONTEXT + FUTURE, 16, 16, 1), dtype=np.float32)
    spec = keras.InputSpec(shape=(None, CONTEXT + FUTURE, 16, 16, 1), dtype="float32")
    model.export(str(tmp_path / "call"), input_signature=[spec])
    loaded = tf.saved_model.load(str(tmp_path / "call"))  # keep a reference: it owns the variables
    served = loaded.serve(tf.constant(clip)).numpy()
    np.testing.assert_allclose(served, model(clip).numpy(), atol=1e-5, rtol=0)


def test_onnx_export_runs_in_onnxruntime(case, tmp_path):
    pytest.importorskip("tf2onnx", reason="ONNX export needs tf2onnx (pip install tf2onnx onnx)")
    pytest.importorskip("onnxruntime", reason="the ONNX check needs onnxruntime (pip install onnxruntime)")
    import onnx

    model = case[0]
    folder = tmp_path / "onnx"
    for signature in ("serving_default", "step", "initial_state"):
        path = model.export(
            folder / f"{signature}.onnx", format="onnx", future_frames=FUTURE, signature=signature
        )
        assert path.is_file()
    metadata = {p.key: p.value for p in onnx.load(str(folder / "step.onnx")).metadata_props}
    info = json.loads(metadata["ctt_keras_export"])
    assert info["signature"] == "step" and info["format"] == "onnx"
    assert [s["name"] for cell in info["state_layout"] for s in cell["states"]] == [
        f"state_{i:02d}" for i in range(10)
    ]
    _check(_serve_in_fresh_process(_ONNX, folder, case[1], tmp_path), case)
    with pytest.raises(FileExistsError):
        model.export(folder / "step.onnx", format="onnx", signature="step")


def test_litert_export_runs_in_the_litert_interpreter(case, tmp_path):
    pytest.importorskip(
        "ai_edge_litert", reason="the LiteRT check needs ai-edge-litert (pip install ai-edge-litert)"
    )
    model = case[0]
    path = model.export(tmp_path / "tiny.tflite", format="litert", future_frames=FUTURE)
    _check(_serve_in_fresh_process(_LITERT, path, case[1], tmp_path), case)


def test_bad_export_arguments_are_named(case, tmp_path):
    model = case[0]
    with pytest.raises(ValueError, match="format"):
        model.export(tmp_path / "x", format="coreml")
    with pytest.raises(ValueError, match="future_frames"):
        model.export(tmp_path / "x", future_frames=0)
    with pytest.raises(ValueError, match="signature"):
        model.export(tmp_path / "x.onnx", format="onnx", signature="train")
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.onnx").exists()
