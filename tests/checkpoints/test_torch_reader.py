"""Tests for the torch-free `.pt` reader: real official checkpoints and hand-crafted pickles."""

import collections
import struct
import zipfile

import numpy as np
import pytest

from ctt_keras.checkpoints import read_torch_checkpoint
from ctt_keras.checkpoints.torch_reader import TorchCheckpointError, UnsafeCheckpointError

_CHECKPOINTS = {
    "nvlabs_tiny2_state_dict.pt": ("vectors_tiny2.npz", False),
    "nvlabs_tiny2_eval_paper_format.pt": ("vectors_tiny2.npz", True),
    "nvlabs_tiny2_eval_paper_format_legacy.pt": ("vectors_tiny2.npz", True),
    "nvlabs_small_skip_eval_paper_format.pt": ("vectors_small_skip.npz", True),
    "nvlabs_small_convlstm_sig_state_dict.pt": ("vectors_small_convlstm_sig.npz", False),
}


@pytest.mark.parametrize("filename", sorted(_CHECKPOINTS))
def test_official_checkpoints_match_reference_state_dict(nvlabs_dir, filename):
    vectors_name, wrapped = _CHECKPOINTS[filename]
    loaded = read_torch_checkpoint(nvlabs_dir / filename)
    if wrapped:
        assert isinstance(loaded, dict) and set(loaded) == {"epoch", "model_state_dict"}
        assert isinstance(loaded["epoch"], int)
        state = loaded["model_state_dict"]
        assert all(k.startswith("module.") for k in state)
        state = {k[len("module."):]: v for k, v in state.items()}
    else:
        assert isinstance(loaded, collections.OrderedDict)
        state = loaded
    with np.load(nvlabs_dir / vectors_name) as vectors:
        expected = {k: vectors[k] for k in vectors.files if k.startswith("layers.")}
    assert list(state) == list(expected)  # same keys, in the stored order
    for key, value in expected.items():
        assert state[key].dtype == np.float32
        np.testing.assert_array_equal(state[key], value, err_msg=key)


def test_lpips_linear_layers_load(test_data_dir):
    state = read_torch_checkpoint(test_data_dir / "lpips" / "weights" / "v0.1" / "alex.pth")
    assert [v.shape for v in state.values()] == [(1, c, 1, 1) for c in (64, 192, 384, 256, 256)]


# --- A minimal pickle writer, so crafted files need neither torch nor pickle's global lookup. ---

class _Global:
    def __init__(self, module, name):
        self.module, self.name = module, name


class _Call:
    def __init__(self, func, *args):
        self.func, self.args = func, args


class _PersId:
    def __init__(self, pid):
        self.pid = pid


def _emit(obj, out):
    if isinstance(obj, _Global):
        out += b"c" + f"{obj.module}\n{obj.name}\n".encode()
    elif isinstance(obj, _Call):
        _emit(obj.func, out)
        _emit(tuple(obj.args), out)
        out += b"R"
    elif isinstance(obj, _PersId):
        _emit(obj.pid, out)
        out += b"Q"
    elif obj is None:
        out += b"N"
    elif isinstance(obj, bool):
        out += b"\x88" if obj else b"\x89"
    elif isinstance(obj, int):
        out += b"J" + struct.pack("<i", obj)
    elif isinstance(obj, str):
        data = obj.encode()
        out += b"X" + struct.pack("<I", len(data)) + data
    elif isinstance(obj, tuple):
        out += b"("
        for item in obj:
            _emit(item, out)
        out += b"t"
    elif isinstance(obj, list):
        out += b"]("
        for item in obj:
            _emit(item, out)
        out += b"e"
    elif isinstance(obj, dict):
        out += b"}("
        for key, value in obj.items():
            _emit(key, out)
            _emit(value, out)
        out += b"u"
    else:
        raise TypeError(obj)


def _pickle(obj):
    out = bytearray(b"\x80\x02")
    _emit(obj, out)
    return bytes(out + b".")


def _tensor(storage_pid, offset, size, stride):
    rebuild = _Global("torch._utils", "_rebuild_tensor_v2")
    hooks = _Call(_Global("collections", "OrderedDict"))
    return _Call(rebuild, _PersId(storage_pid), offset, tuple(size), tuple(stride), False, hooks)


def _write_zip(path, obj, storages, byteorder="little"):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", _pickle(obj))
        zf.writestr("archive/byteorder", byteorder)
        for key, array in storages.items():
            zf.writestr(f"archive/data/{key}", array.tobytes())


def _strided_object(storage_type="FloatStorage", numel=24):
    pid = ("storage", _Global("torch", storage_type), "0", "cpu", numel)
    return {
        "whole": _tensor(pid, 0, (2, 3, 4), (12, 4, 1)),
        "transposed": _tensor(pid, 0, (4, 6), (1, 4)),  # non-contiguous view
        "offset": _tensor(pid, 5, (2, 2), (6, 2)),  # view with offset and gaps
        "scalar": _tensor(pid, 7, (), ()),
        "empty": _tensor(pid, 0, (0, 3), (3, 1)),
        "step": 7,
        "lr": "0.5",
    }


def _check_strided(loaded, flat):
    np.testing.assert_array_equal(loaded["whole"], flat.reshape(2, 3, 4))
    np.testing.assert_array_equal(loaded["transposed"], flat.reshape(6, 4).T)
    np.testing.assert_array_equal(loaded["offset"], np.array([[flat[5], flat[7]], [flat[11], flat[13]]]))
    assert loaded["scalar"].shape == () and loaded["scalar"] == flat[7]
    assert loaded["empty"].shape == (0, 3)
    assert loaded["step"] == 7 and loaded["lr"] == "0.5"
    assert loaded["transposed"].flags.c_contiguous


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_zip_format_strides_offsets_shared_storage(tmp_path, byteorder):
    flat = np.arange(24, dtype=np.float32) * 0.5 - 3.0
    stored = flat.astype(">f4" if byteorder == "big" else "<f4")
    _write_zip(tmp_path / "m.pt", _strided_object(), {"0": stored}, byteorder)
    _check_strided(read_torch_checkpoint(tmp_path / "m.pt"), flat)


@pytest.mark.parametrize(
    "storage_type, dtype", [("LongStorage", np.int64), ("HalfStorage", np.float16), ("ByteStorage", np.uint8)]
)
def test_zip_format_other_dtypes(tmp_path, storage_type, dtype):
    flat = np.arange(24).astype(dtype)
    _write_zip(tmp_path / "m.pt", _strided_object(storage_type), {"0": flat})
    loaded = read_torch_checkpoint(tmp_path / "m.pt")
    assert loaded["whole"].dtype == dtype
    _check_strided(loaded, flat)


def test_zip_format_bfloat16_widened_to_float32(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 0.0], dtype=np.float32)
    bits = (values.view(np.uint32) >> 16).astype(np.uint16)  # exact in bfloat16
    pid = ("storage", _Global("torch", "BFloat16Storage"), "0", "cpu", 4)
    _write_zip(tmp_path / "m.pt", {"w": _tensor(pid, 0, (4,), (1,))}, {"0": bits})
    loaded = read_torch_checkpoint(tmp_path / "m.pt")["w"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, values)


def _legacy_bytes(obj, storages):
    # The magic number needs more than 32 bits: written with the LONG1 opcode.
    magic = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
    out = b"\x80\x02\x8a\x0a" + magic + b"."
    out += _pickle(1001)
    out += _pickle({"protocol_version": 1001, "little_endian": True})
    out += _pickle(obj)
    out += _pickle(list(storages))
    for array in storages.values():
        out += struct.pack("<q", array.size) + array.astype("<f4").tobytes()
    return out


def test_legacy_format_with_storage_views(tmp_path):
    root = np.arange(30, dtype=np.float32)
    other = np.array([9.0, 8.0], dtype=np.float32)
    float_storage = _Global("torch", "FloatStorage")
    view = ("storage", float_storage, "root", "cpu", 30, ("view", 10, 12))
    whole = ("storage", float_storage, "root", "cpu", 30, None)
    obj = {
        "view": _tensor(view, 2, (2, 3), (1, 2)),
        "whole": _tensor(whole, 0, (5, 6), (6, 1)),
        "other": _tensor(("storage", float_storage, "b", "cpu", 2, None), 0, (2,), (1,)),
    }
    path = tmp_path / "legacy.pt"
    path.write_bytes(_legacy_bytes(obj, {"root": root, "b": other}))
    loaded = read_torch_checkpoint(path)
    view_flat = root[10:22]
    expected_view = np.array([[view_flat[2 + i + 2 * j] for j in range(3)] for i in range(2)])
    np.testing.assert_array_equal(loaded["view"], expected_view)
    np.testing.assert_array_equal(loaded["whole"], root.reshape(5, 6))
    np.testing.assert_array_equal(loaded["other"], other)


@pytest.mark.parametrize("module, name", [("os", "system"), ("builtins", "eval"), ("torch", "load")])
def test_refuses_foreign_globals_without_executing(tmp_path, module, name):
    marker = tmp_path / "pwned"
    payload = {"w": _Call(_Global(module, name), f"touch {marker}")}
    _write_zip(tmp_path / "evil.pt", payload, {})
    with pytest.raises(UnsafeCheckpointError, match=f"{module}.{name}"):
        read_torch_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "evil_legacy.pt").write_bytes(_legacy_bytes(payload, {}))
    with pytest.raises(UnsafeCheckpointError, match=f"{module}.{name}"):
        read_torch_checkpoint(tmp_path / "evil_legacy.pt")
    assert not marker.exists()


def test_out_of_bounds_view_is_refused(tmp_path):
    pid = ("storage", _Global("torch", "FloatStorage"), "0", "cpu", 4)
    _write_zip(tmp_path / "m.pt", {"w": _tensor(pid, 1, (2, 2), (2, 1))}, {"0": np.zeros(4, np.float32)})
    with pytest.raises(TorchCheckpointError, match="reaches element 4"):
        read_torch_checkpoint(tmp_path / "m.pt")


def test_missing_storage_is_reported(tmp_path):
    pid = ("storage", _Global("torch", "FloatStorage"), "7", "cpu", 4)
    _write_zip(tmp_path / "m.pt", {"w": _tensor(pid, 0, (4,), (1,))}, {})
    with pytest.raises(TorchCheckpointError, match="data/7"):
        read_torch_checkpoint(tmp_path / "m.pt")


@pytest.mark.parametrize(
    "filename", ["nvlabs_tiny2_state_dict.pt", "nvlabs_tiny2_eval_paper_format_legacy.pt"]
)
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.99])
def test_truncated_files_give_clear_error(nvlabs_dir, tmp_path, filename, fraction):
    data = (nvlabs_dir / filename).read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(TorchCheckpointError):
        read_torch_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(TorchCheckpointError):
        read_torch_checkpoint(path)
