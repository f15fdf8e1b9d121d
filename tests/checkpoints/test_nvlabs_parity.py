"""Parity with the official PyTorch code: the test vectors of tests/data/nvlabs.

These are the project's most important tests: outputs to 1e-5 absolute, gradients
to 1e-4 relative, for all three reference networks.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from ctt_keras.checkpoints import from_nvlabs, infer_config, load_state_dict, nvlabs_state_dict
from ctt_keras.losses import L1L2Loss

NAMES = ["tiny2", "small_skip", "small_convlstm_sig"]


def nhwc(a):
    """[B, T, C, H, W] or [B, C, H, W] (PyTorch) -> channels last."""
    return np.moveaxis(a, -3, -1)


@pytest.fixture(scope="module", params=NAMES)
def case(request, nvlabs_dir):
    data = dict(np.load(nvlabs_dir / f"vectors_{request.param}.npz"))
    config = json.loads(str(data["meta_json"]))["config"]
    model = from_nvlabs(
        data, frame_shape=(config["H"], config["W"], config["input_channels"]), output_sigmoid=config["output_sigmoid"]
    )
    return request.param, data, config, model


def test_architecture_is_inferred_from_names_and_shapes(case):
    _, data, config, model = case
    inferred, channels = infer_config(load_state_dict(data))
    assert channels == config["input_channels"]
    assert inferred["cell"] == config["cell"]
    assert inferred["layers_per_block"] == tuple(config["layers_per_block"])
    assert inferred["hidden_channels"] == tuple(config["hidden_channels"])
    assert inferred["skip_stride"] == config["skip_stride"]
    assert inferred["kernel_size"] == config["kernel_size"]
    if config["cell"] == "convttlstm":
        assert (inferred["order"], inferred["steps"], inferred["rank"]) == (
            config["order"], config["steps"], config["rank"])
    meta = json.loads(str(data["meta_json"]))
    assert model.count_params() == meta["num_params"]


def test_test_mode_rollout_matches(case):
    _, data, _, model = case
    outputs = model.predict_frames(nhwc(data["input"]), 10, return_all_steps=True).numpy()
    np.testing.assert_allclose(outputs, nhwc(data["output_all"]), atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs[:, -10:], nhwc(data["output"]), atol=1e-5, rtol=0)
    np.testing.assert_allclose(
        model.predict_frames(nhwc(data["input"]), 10).numpy(), nhwc(data["output"]), atol=1e-5, rtol=0
    )


def _training_clip(data):
    return np.concatenate([nhwc(data["input_tf"]), nhwc(data["target_tf"])[:, -1:]], axis=1)


def test_teacher_forced_pass_loss_and_gradients_match(case):
    _, data, _, model = case
    clip = _training_clip(data)
    np.testing.assert_allclose(clip[:, 1:], nhwc(data["target_tf"]), atol=0)
    model.sampling_ratio.assign(1.0)
    with tf.GradientTape() as tape:
        predictions = model(clip, training=True)
        loss = L1L2Loss()(clip[:, 1:], predictions)
    np.testing.assert_allclose(predictions.numpy(), nhwc(data["output_tf"]), atol=1e-5, rtol=0)
    np.testing.assert_allclose(float(loss), float(data["loss_tf"]), atol=1e-5, rtol=0)
    np.testing.assert_allclose(
        model.one_step_predictions(clip).numpy(), nhwc(data["output_tf"]), atol=1e-5, rtol=0
    )

    grads = tape.gradient(loss, model.trainable_variables)
    ours = nvlabs_state_dict(model, {v.path: g.numpy() for v, g in zip(model.trainable_variables, grads)})
    official = {k[len("grad/"):]: v for k, v in data.items() if k.startswith("grad/")}
    assert sorted(ours) == sorted(official)
    for name, expected in official.items():
        scale = np.abs(expected).max()
        assert scale > 0, name
        err = np.abs(ours[name] - expected).max() / scale
        assert err < 1e-4, f"{name}: relative gradient error {err:.2e}"


def test_hidden_states_tt_outputs_and_final_states_match(case):
    _, data, config, model = case
    frames = nhwc(data["input"])
    states = model.initial_states(frames.shape[0])
    previous = None
    for t in range(19):
        x = frames[:, t] if t < 10 else previous
        if config["cell"] == "convttlstm":
            # The chain output T of each cell depends only on its state before the step.
            for cell, cell_states in zip(model.cells, states):
                tt = cell.tensor_train(cell_states[2:]).numpy()
                np.testing.assert_allclose(tt, nhwc(data[f"ttout/{cell.name}"][t]), atol=1e-5, rtol=0)
        previous, states = model.step(x, states)
        for cell, cell_states in zip(model.cells, states):
            np.testing.assert_allclose(
                cell_states[0].numpy(), nhwc(data[f"hidden/{cell.name}"][t]), atol=1e-5, rtol=0,
                err_msg=f"hidden state of {cell.name} at step {t}",
            )
    for cell, cell_states in zip(model.cells, states):
        np.testing.assert_allclose(cell_states[0].numpy(), nhwc(data[f"final_h/{cell.name}"]), atol=1e-5, rtol=0)
        np.testing.assert_allclose(cell_states[1].numpy(), nhwc(data[f"final_c/{cell.name}"]), atol=1e-5, rtol=0)


def test_export_back_to_official_layout_is_exact(case):
    _, data, _, model = case
    exported = nvlabs_state_dict(model)
    official = load_state_dict(data)
    assert sorted(exported) == sorted(official)
    for name in official:
        np.testing.assert_array_equal(exported[name], official[name], err_msg=name)


def test_module_prefix_and_wrapper_are_accepted(nvlabs_dir):
    data = dict(np.load(nvlabs_dir / "vectors_tiny2.npz"))
    wrapped = {"model_state_dict": {"module." + k: v for k, v in data.items() if k.startswith("layers.")}, "epoch": 3}
    model = from_nvlabs(wrapped, frame_shape=(16, 16, 1))
    np.testing.assert_allclose(
        model.predict_frames(nhwc(data["input"]), 10).numpy(), nhwc(data["output"]), atol=1e-5, rtol=0
    )


def test_npz_path_is_accepted(nvlabs_dir):
    model = from_nvlabs(str(nvlabs_dir / "vectors_small_skip.npz"), frame_shape=(16, 16, 1))
    assert model.skip_stride == 2 and model.hidden_channels == (4, 6, 6, 4)


def test_missing_unexpected_and_misshaped_keys_are_all_listed(nvlabs_dir):
    state = load_state_dict(str(nvlabs_dir / "vectors_tiny2.npz"))
    from ctt_keras.checkpoints import assign_nvlabs_weights
    from ctt_keras.models import VideoPredictor

    model = VideoPredictor((16, 16, 1), layers_per_block=(2,), hidden_channels=(8,), skip_stride=None,
                           kernel_size=3, rank=4)
    broken = dict(state)
    del broken["layers.b0l1.layers.0.bias"]
    broken["layers.b0l0.layers.2.weight"] = broken["layers.b0l0.layers.2.weight"][:, :4]
    broken["layers.b9l9.conv.weight"] = np.zeros((4, 4, 3, 3), np.float32)
    with pytest.raises(ValueError) as info:
        assign_nvlabs_weights(model, broken)
    message = str(info.value)
    assert "missing: layers.b0l1.layers.0.bias" in message
    assert "shape mismatch: layers.b0l0.layers.2.weight" in message
    assert "unexpected: layers.b9l9.conv.weight" in message


def test_frame_channels_must_match_the_checkpoint(nvlabs_dir):
    with pytest.raises(ValueError, match="channels"):
        from_nvlabs(str(nvlabs_dir / "vectors_tiny2.npz"), frame_shape=(16, 16, 3))


def test_not_a_checkpoint_is_refused():
    with pytest.raises(ValueError, match="no official Conv-TT-LSTM parameters"):
        from_nvlabs({"weights": np.zeros(3)})


@pytest.mark.parametrize(
    "checkpoint, vectors",
    [
        ("nvlabs_tiny2_state_dict.pt", "tiny2"),
        ("nvlabs_tiny2_eval_paper_format.pt", "tiny2"),
        ("nvlabs_tiny2_eval_paper_format_legacy.pt", "tiny2"),
        ("nvlabs_small_skip_eval_paper_format.pt", "small_skip"),
        ("nvlabs_small_convlstm_sig_state_dict.pt", "small_convlstm_sig"),
    ],
)
def test_official_pt_checkpoints_reproduce_the_vectors(nvlabs_dir, checkpoint, vectors):
    data = dict(np.load(nvlabs_dir / f"vectors_{vectors}.npz"))
    sigmoid = json.loads(str(data["meta_json"]))["config"]["output_sigmoid"]
    model = from_nvlabs(nvlabs_dir / checkpoint, frame_shape=(16, 16, 1), output_sigmoid=sigmoid)
    np.testing.assert_allclose(
        model.predict_frames(nhwc(data["input"]), 10).numpy(), nhwc(data["output"]), atol=1e-5, rtol=0
    )


# --- Damaged state_dicts are diagnosed as what they are. ---


@pytest.mark.parametrize("key", ["layers.b0l0.layers_.0.weight", "layers.b0l0.layers.2.weight"])
def test_missing_cell_parameter_is_named(nvlabs_dir, key):
    state = load_state_dict(str(nvlabs_dir / "vectors_tiny2.npz"))
    del state[key]
    with pytest.raises(ValueError, match=f"missing the parameter '{key}'"):
        infer_config(state)


def test_missing_convlstm_gate_is_named(nvlabs_dir):
    state = load_state_dict(str(nvlabs_dir / "vectors_small_convlstm_sig.npz"))
    del state["layers.b2l0.conv.weight"]
    with pytest.raises(ValueError, match="missing the parameter 'layers.b2l0.conv.weight'"):
        infer_config(state)


@pytest.mark.parametrize("vectors, channels, expected", [("tiny2", 9, 8), ("small_skip", 7, 10)])
def test_wrong_head_shape_is_called_a_head_problem(nvlabs_dir, vectors, channels, expected):
    state = load_state_dict(str(nvlabs_dir / f"vectors_{vectors}.npz"))
    state["layers.output.weight"] = np.zeros((1, channels, 1, 1), np.float32)
    with pytest.raises(ValueError, match=rf"head 'layers.output.weight' reads {channels} channels but the "
                                         rf"last block gives {expected}") as error:
        infer_config(state)
    assert "skip_stride" not in str(error.value).split("(")[0]
