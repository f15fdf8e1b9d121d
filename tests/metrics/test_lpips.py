"""LPIPS: the official values on the example images, input conventions, bundled weights."""

import hashlib
import importlib.util
import pathlib

import keras
import numpy as np
import pytest
from PIL import Image

from ctt_keras.metrics import LPIPS, lpips
from ctt_keras.metrics import lpips_weights

# Official LPIPS v0.1 on the example images: d(ref, p0), d(ref, p1) (tests/data/README.md).
_OFFICIAL = {"alex": (0.7219, 0.1376), "squeeze": (0.7110, 0.1479)}
_REPO = pathlib.Path(__file__).resolve().parents[2]


def _image(test_data_dir, name):
    path = test_data_dir / "lpips" / "images" / f"{name}.png"
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)[None] / 255.0


@pytest.fixture(scope="module")
def examples(test_data_dir):
    ref, p0, p1 = (_image(test_data_dir, n) for n in ("ex_ref", "ex_p0", "ex_p1"))
    return np.concatenate([ref, ref]), np.concatenate([p0, p1])


@pytest.fixture(scope="module")
def alex():
    return LPIPS(net="alex")


@pytest.mark.parametrize("net", ["alex", "squeeze"])
def test_reproduces_official_values(examples, net):
    distances = np.asarray(LPIPS(net=net, input_range=(0.0, 1.0))(*examples))
    np.testing.assert_allclose(distances, _OFFICIAL[net], atol=1e-4)


def test_input_range_is_a_linear_rescaling(examples, alex):
    ref, other = examples
    in_255 = LPIPS(net="alex", input_range=(0, 255))(ref * 255.0, other * 255.0)
    in_pm1 = LPIPS(net="alex", input_range=(-1, 1))(ref * 2.0 - 1.0, other * 2.0 - 1.0)
    np.testing.assert_allclose(in_255, alex(ref, other), atol=1e-5)
    np.testing.assert_allclose(in_pm1, alex(ref, other), atol=1e-5)


def test_official_convention_quirk_changes_the_value(examples):
    # [0, 1] images fed as if they were [-1, 1]: what the paper's code did; a different number.
    quirk = np.asarray(LPIPS(net="alex", input_range=(-1.0, 1.0))(*examples))
    assert np.all(np.abs(quirk - np.array(_OFFICIAL["alex"])) > 1e-3)


def test_gray_is_repeated_to_rgb(examples, alex):
    gray0 = examples[0].mean(-1, keepdims=True)
    gray1 = examples[1].mean(-1, keepdims=True)
    np.testing.assert_allclose(
        alex(gray0, gray1), alex(np.repeat(gray0, 3, -1), np.repeat(gray1, 3, -1)), atol=1e-6
    )


def test_sequences_identity_and_nan(examples, alex):
    ref, other = examples
    seq0 = np.stack([ref, other, ref], axis=1)  # [2, 3, 64, 64, 3]
    seq1 = np.stack([other, other, ref], axis=1)
    seq0[1, 2, 0, 0, 0] = np.nan
    values = np.asarray(lpips(seq0, seq1))
    assert values.shape == (2, 3)
    np.testing.assert_allclose(values[:, 0], np.asarray(alex(ref, other)), atol=1e-6)
    np.testing.assert_allclose(values[0, 1:], 0.0, atol=1e-6)
    assert np.isnan(values[1, 2]) and np.isfinite(values[1, :2]).all()


def _torch_ceil_max_pool(x):
    """3x3 stride-2 max-pool with PyTorch's ceil_mode rule, by loops (reference)."""
    n, h, w, c = x.shape
    out_h, out_w = -(-(h - 3) // 2) + 1, -(-(w - 3) // 2) + 1
    out = np.empty((n, out_h, out_w, c), x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            out[:, i, j] = x[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(1, 2))
    return out


@pytest.mark.parametrize("size", [(8, 8), (7, 10), (32, 15)])
def test_ceil_mode_pooling(size):
    layer = LPIPS(net="squeeze")
    x = np.random.default_rng(0).standard_normal((2,) + size + (3,)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(layer._pool(x, True)), _torch_ceil_max_pool(x))


def test_odd_sizes_run_for_both_backbones():
    x = np.random.default_rng(1).random((1, 67, 45, 1), dtype=np.float32)
    for net in ("alex", "squeeze"):
        value = np.asarray(lpips(x, np.flip(x, 1).copy(), net=net))
        assert value.shape == (1,) and 0.0 < value[0] < 2.0


def test_bad_arguments_and_inputs(alex):
    x = np.zeros((1, 64, 64, 3), np.float32)
    with pytest.raises(ValueError, match="net"):
        LPIPS(net="vgg")
    with pytest.raises(ValueError, match="input_range"):
        LPIPS(input_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="channels"):
        alex(x[..., :2], x[..., :2])
    with pytest.raises(ValueError, match="too small"):
        alex(x[:, :24, :24], x[:, :24, :24])
    with pytest.raises(ValueError, match="same shape"):
        alex(x, x[:, :32])
    with pytest.raises(ValueError, match="same dtype"):
        alex(x, x.astype(np.float64))


def test_config_round_trip(examples):
    layer = LPIPS(net="squeeze", input_range=(-1.0, 1.0), name="perceptual")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, LPIPS)
    assert restored.get_config() == layer.get_config()
    np.testing.assert_allclose(restored(*examples), layer(*examples), atol=1e-6)


def test_damaged_weights_are_refused(tmp_path, monkeypatch):
    bundled = pathlib.Path(lpips_weights.__file__).parent / "squeeze.npz"
    damaged = bytearray(bundled.read_bytes())
    damaged[-100] ^= 1
    (tmp_path / "squeeze.npz").write_bytes(bytes(damaged))
    monkeypatch.setattr(lpips_weights, "_DIR", tmp_path)
    with pytest.raises(ValueError, match="sha256"):
        lpips_weights.load_weights("squeeze")


def test_bundle_has_licences_and_recorded_checksums():
    folder = pathlib.Path(lpips_weights.__file__).parent
    assert "Richard Zhang" in (folder / "LICENSE-LPIPS").read_text()
    assert "BSD 3-Clause" in (folder / "LICENSE-torchvision").read_text()
    readme = (folder / "README.md").read_text()
    for net, digest in lpips_weights.SHA256.items():
        assert hashlib.sha256((folder / f"{net}.npz").read_bytes()).hexdigest() == digest
        assert f"{digest}  {net}.npz" in readme


@pytest.mark.lpips_source  # the ImageNet backbones are not in the repository (tests/data/README.md)
@pytest.mark.parametrize("net", ["alex", "squeeze"])
def test_conversion_reproduces_the_bundle(lpips_source_dir, tmp_path, net):
    spec = importlib.util.spec_from_file_location("convert_lpips", _REPO / "tools" / "convert_lpips.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(["--lpips-dir", str(lpips_source_dir), "--nets", net, "--output-dir", str(tmp_path)])
    assert hashlib.sha256((tmp_path / f"{net}.npz").read_bytes()).hexdigest() == lpips_weights.SHA256[net]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{net}.npz"]
