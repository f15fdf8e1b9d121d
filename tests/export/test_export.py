"""SavedModel export for TensorFlow Serving, checked against the Keras model and the official vectors.

The exported network is the official test network `tiny2` (tests/data/nvlabs), converted from
its `.pt`, so the served numbers are compared with the official PyTorch outputs as well.
"""

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from ctt_keras.checkpoints import from_nvlabs
from ctt_keras.export import EXPORT_INFO_FILE, export_saved_model, state_names

CONTEXT, FUTURE = 10, 10


def nhwc(a):
    return np.moveaxis(a, -3, -1)


@pytest.fixture(scope="module")
def official(nvlabs_dir):
    data = np.load(nvlabs_dir / "vectors_tiny2.npz")
    model = from_nvlabs(nvlabs_dir / "nvlabs_tiny2_eval_paper_format.pt", frame_shape=(16, 16, 1),
                        name="tiny2")
    return model, nhwc(data["input"]), nhwc(data["output"]), nhwc(data["output_all"])


@pytest.fixture(scope="module")
def exported(official, tmp_path_factory):
    model = official[0]
    base = tmp_path_factory.mktemp("serving")
    path = export_saved_model(model, base, CONTEXT, FUTURE)
    return base, path


def test_tf_serving_layout(exported):
    base, path = exported
    assert path == base / "tiny2" / "1"
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()


def test_serving_default_equals_keras_and_official_outputs(official, exported):
    model, context, expected, _ = official
    served = tf.saved_model.load(str(exported[1])).signatures["serving_default"]
    predictions = served(frames=tf.constant(context))["predictions"].numpy()
    keras_predictions = model.predict_frames(context, FUTURE).numpy()
    np.testing.assert_allclose(predictions, keras_predictions, atol=1e-5, rtol=0)
    np.testing.assert_allclose(predictions, expected, atol=1e-5, rtol=0)
    one = served(frames=tf.constant(context[1:]))["predictions"].numpy()  # the batch size is dynamic
    np.testing.assert_allclose(one, expected[1:], atol=1e-5, rtol=0)


def test_step_signature_reproduces_every_rollout_step(official, exported):
    model, context, _, expected_all = official
    loaded = tf.saved_model.load(str(exported[1]))
    step, initial_state = loaded.signatures["step"], loaded.signatures["initial_state"]
    states = initial_state(batch_size=tf.constant(2))
    names = state_names(model)
    assert sorted(states) == names and len(names) == 10  # 2 Conv-TT-LSTM cells x [h, c, p_1, p_2, p_3]
    assert all(np.all(s.numpy() == 0) for s in states.values())
    outputs = []
    for t in range(CONTEXT + FUTURE - 1):
        frame = context[:, t] if t < CONTEXT else outputs[-1]
        result = step(frame=tf.constant(frame), **states)
        outputs.append(result.pop("prediction").numpy())
        states = result
    outputs = np.stack(outputs, axis=1)
    keras_all = model.predict_frames(context, FUTURE, return_all_steps=True).numpy()
    np.testing.assert_allclose(outputs, keras_all, atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs, expected_all, atol=1e-5, rtol=0)


def test_export_info_describes_the_state_layout(official, exported):
    model, *_ = official
    info = json.loads((exported[1] / "assets.extra" / EXPORT_INFO_FILE).read_text())
    assert [cell["cell"] for cell in info["state_layout"]] == ["b0l0", "b0l1"]
    roles = [s["role"] for s in info["state_layout"][0]["states"]]
    assert roles == ["h", "c", "p_1", "p_2", "p_3"]
    assert [s["name"] for cell in info["state_layout"] for s in cell["states"]] == state_names(model)
    assert info["state_layout"][0]["states"][2]["shape"] == [None, 16, 16, 12]  # order 3 * L 1 * rank 4
    assert info["signatures"]["serving_default"]["inputs"]["frames"] == [None, 10, 16, 16, 1]


_FRESH_PROCESS = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    context = np.load(sys.argv[2])["context"]
    predictions = loaded.signatures["serving_default"](frames=tf.constant(context))["predictions"].numpy()
    states = loaded.signatures["initial_state"](batch_size=tf.constant(context.shape[0]))
    steps = []
    for t in range(19):
        frame = context[:, t] if t < 10 else steps[-1]
        result = loaded.signatures["step"](frame=tf.constant(frame), **states)
        steps.append(result.pop("prediction").numpy())
        states = result
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("ctt_keras", "pipelines"))
    np.savez(sys.argv[3], predictions=predictions, steps=np.stack(steps, 1),
             leaked=np.array(leaked, dtype=str))
""")


def test_fresh_process_with_only_tensorflow_serves_the_official_numbers(official, exported, tmp_path):
    _, context, expected, expected_all = official
    np.savez(tmp_path / "in.npz", context=context)
    (tmp_path / "serve.py").write_text(_FRESH_PROCESS)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    subprocess.run([sys.executable, "serve.py", str(exported[1]), "in.npz", "out.npz"], cwd=tmp_path, env=env,
                   check=True, capture_output=True, timeout=300)
    out = np.load(tmp_path / "out.npz")
    assert out["leaked"].tolist() == []  # ctt_keras was never imported (TensorFlow itself imports keras)
    np.testing.assert_allclose(out["predictions"], expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(out["steps"], expected_all, atol=1e-5, rtol=0)


def _signature_block(text, name):
    match = re.search(rf"signature_def\['{name}'\]:\n(.*?)(?=\nsignature_def\[|\Z)", text, re.S)
    assert match, f"signature {name} not listed by saved_model_cli"
    return match.group(1)


def test_saved_model_cli_lists_the_signatures_and_shapes(exported):
    cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    text = subprocess.run(cli + ["show", "--dir", str(exported[1]), "--all"], check=True, capture_output=True,
                          text=True, env=env, timeout=300).stdout
    serving = _signature_block(text, "serving_default")
    shape = r"dtype: DT_FLOAT\s+shape: \(-1, 10, 16, 16, 1\)"
    assert re.search(r"inputs\['frames'\].*?" + shape, serving, re.S)
    assert re.search(r"outputs\['predictions'\].*?" + shape, serving, re.S)
    step = _signature_block(text, "step")
    assert re.search(r"inputs\['frame'\].*?shape: \(-1, 16, 16, 1\)", step, re.S)
    assert re.search(r"outputs\['prediction'\].*?shape: \(-1, 16, 16, 1\)", step, re.S)
    for i, channels in enumerate([8, 8, 12, 12, 12] * 2):
        for kind in ("inputs", "outputs"):
            assert re.search(rf"{kind}\['state_{i:02d}'\].*?shape: \(-1, 16, 16, {channels}\)", step, re.S)
    initial = _signature_block(text, "initial_state")
    assert re.search(r"inputs\['batch_size'\].*?dtype: DT_INT32\s+shape: \(\)", initial, re.S)


def test_non_empty_version_folder_is_not_overwritten(official, tmp_path):
    model = official[0]
    target = tmp_path / "tiny2" / "1"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_saved_model(model, tmp_path, CONTEXT, FUTURE)
    assert (target / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="version"):
        export_saved_model(model, tmp_path, CONTEXT, FUTURE, version=0)
    with pytest.raises(ValueError, match="future_frames"):
        export_saved_model(model, tmp_path, CONTEXT, 0)


def test_convlstm_with_skips_and_sigmoid_exports_exactly(nvlabs_dir, tmp_path):
    # The other official test network: ConvLSTM cells ([h, c] states), skip connections, sigmoid head.
    data = np.load(nvlabs_dir / "vectors_small_convlstm_sig.npz")
    model = from_nvlabs(nvlabs_dir / "nvlabs_small_convlstm_sig_state_dict.pt", frame_shape=(16, 16, 1),
                        output_sigmoid=True)
    loaded = tf.saved_model.load(str(export_saved_model(model, tmp_path, CONTEXT, FUTURE, model_name="sig")))
    context = nhwc(data["input"])
    served = loaded.signatures["serving_default"](frames=tf.constant(context))["predictions"].numpy()
    np.testing.assert_allclose(served, nhwc(data["output"]), atol=1e-5, rtol=0)
    states = loaded.signatures["initial_state"](batch_size=tf.constant(2))
    assert [states[name].shape[-1] for name in state_names(model)] == [4, 4, 6, 6, 6, 6, 4, 4]
    outputs = []
    for t in range(CONTEXT + FUTURE - 1):
        result = loaded.signatures["step"](frame=tf.constant(context[:, t] if t < CONTEXT else outputs[-1]),
                                           **states)
        outputs.append(result.pop("prediction").numpy())
        states = result
    np.testing.assert_allclose(np.stack(outputs, 1), nhwc(data["output_all"]), atol=1e-5, rtol=0)
