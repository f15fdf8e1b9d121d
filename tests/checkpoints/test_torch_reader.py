"""Tests for the torch-free `.pt` reader: real official checkpoints and hand-crafted pickles."""

import collections
import contextlib
import struct
import tracemalloc
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


class _Build:
    """`obj` followed by `state` and the BUILD opcode (what `__setstate__`/`__dict__` restoring pickles)."""

    def __init__(self, obj, state):
        self.obj, self.state = obj, state


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
    elif isinstance(obj, _Build):
        _emit(obj.obj, out)
        _emit(obj.state, out)
        out += b"b"
    elif obj is None:
        out += b"N"
    elif isinstance(obj, bool):
        out += b"\x88" if obj else b"\x89"
    elif isinstance(obj, int) and -2**31 <= obj < 2**31:
        out += b"J" + struct.pack("<i", obj)
    elif isinstance(obj, int):  # LONG1: what pickle writes for integers beyond 32 bits
        data = obj.to_bytes((obj.bit_length() + 8) // 8, "little", signed=True)
        out += b"\x8a" + bytes([len(data)]) + data
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


# --- Memory bombs: refused from what the file declares, before anything that size is allocated. ---


@contextlib.contextmanager
def _allocation_budget(limit=32 << 20):
    """Fails if the block allocates more than `limit` bytes at its peak (NumPy and Python objects alike)."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak allocation {peak} bytes"


def test_legacy_storage_larger_than_the_file_is_refused_before_allocating(tmp_path):
    # A few hundred bytes that declare a storage of 2**48 floats (1 PiB): once answered by np.zeros.
    pid = ("storage", _Global("torch", "FloatStorage"), "0", "cpu", 2**48)
    path = tmp_path / "bomb.pt"
    path.write_bytes(_legacy_bytes({"w": _tensor(pid, 0, (4,), (1,))}, {"0": np.zeros(4, np.float32)}))
    assert path.stat().st_size < 1000
    with _allocation_budget(), pytest.raises(TorchCheckpointError, match="storage '0' declares 2814749767106"
                                                                          "56 elements"):
        read_torch_checkpoint(path)


def test_legacy_storage_size_header_beyond_the_file_is_refused(tmp_path):
    data = bytearray(_legacy_bytes({"w": _tensor(("storage", _Global("torch", "FloatStorage"), "0", "cpu", 4),
                                                 0, (4,), (1,))}, {"0": np.zeros(4, np.float32)}))
    data[-24:-16] = struct.pack("<q", 2**60)  # the 8-byte element count before the storage's bytes
    (tmp_path / "m.pt").write_bytes(bytes(data))
    with _allocation_budget(), pytest.raises(TorchCheckpointError, match="storage '0'"):
        read_torch_checkpoint(tmp_path / "m.pt")


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_zero_stride_view_larger_than_its_storage_is_refused(tmp_path, layout):
    # 4 stored floats viewed as 2**24 x 2**24 with stride 0: a copy would be 1 PiB.
    pid = ("storage", _Global("torch", "FloatStorage"), "0", "cpu", 4)
    obj = {"w": _tensor(pid, 0, (2**24, 2**24), (0, 0))}
    path = tmp_path / "m.pt"
    if layout == "zip":
        _write_zip(path, obj, {"0": np.zeros(4, np.float32)})
    else:
        path.write_bytes(_legacy_bytes(obj, {"0": np.zeros(4, np.float32)}))
    with _allocation_budget(), pytest.raises(TorchCheckpointError, match="281474976710656 elements .* 4"):
        read_torch_checkpoint(path)


def _write_deflated_member(zf, name, size, chunk=1 << 20):
    """Streams `size` zero bytes into a deflated member, never holding more than `chunk` bytes."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    zeros = bytes(chunk)
    with zf.open(info, "w", force_zip64=True) as member:
        for start in range(0, size, chunk):
            member.write(zeros[: min(chunk, size - start)])


@pytest.mark.parametrize("member", ["storage", "pickle"])
def test_deflate_bomb_is_refused_without_expanding_it(tmp_path, member):
    numel = 16 << 20  # 64 MiB of float32, from a ~65 kB archive
    pid = ("storage", _Global("torch", "FloatStorage"), "0", "cpu", numel)
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w") as zf:
        if member == "pickle":
            info = zipfile.ZipInfo("archive/data.pkl")
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as out:
                out.write(b"\x80\x02]q\x00(")  # a list ...
                for _ in range(64):
                    out.write(b"N" * (1 << 20))  # ... of 64 Mi Nones
                out.write(b"e.")
        else:
            zf.writestr("archive/data.pkl", _pickle({"w": _tensor(pid, 0, (4,), (1,))}))
            _write_deflated_member(zf, "archive/data/0", numel * 4)
    assert path.stat().st_size < 1 << 20
    with _allocation_budget(), pytest.raises(TorchCheckpointError, match="expand"):
        read_torch_checkpoint(path)


def test_declared_size_beyond_the_member_is_refused_before_reading(tmp_path):
    pid = ("storage", _Global("torch", "FloatStorage"), "0", "cpu", 2**40)
    _write_zip(tmp_path / "m.pt", {"w": _tensor(pid, 0, (4,), (1,))}, {"0": np.zeros(4, np.float32)})
    with _allocation_budget(), pytest.raises(TorchCheckpointError, match="storage '0' has 16 bytes"):
        read_torch_checkpoint(tmp_path / "m.pt")


# --- Damaged files are diagnosed as what they are. ---


def test_truncated_zip_checkpoint_is_called_a_truncated_zip(nvlabs_dir, tmp_path):
    data = (nvlabs_dir / "nvlabs_tiny2_eval_paper_format.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(TorchCheckpointError, match="cut.pt: truncated or corrupt zip archive"):
        read_torch_checkpoint(tmp_path / "cut.pt")


# --- BUILD may only restore attributes of a fresh OrderedDict (a state_dict's `_metadata`). ---


@pytest.mark.parametrize("state", [{"planted": 1}, (None, {"__defaults__": (1, 2, 3)})],
                         ids=["dict-state", "slot-state"])
@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_build_on_an_allow_listed_function_is_refused(tmp_path, state, layout):
    from ctt_keras.checkpoints import torch_reader

    target = torch_reader._ALLOWED_GLOBALS[("torch._utils", "_rebuild_parameter")]
    before = (dict(getattr(target, "__dict__", {})), getattr(target, "__defaults__", None))
    obj = {"w": _Build(_Global("torch._utils", "_rebuild_parameter"), state)}
    path = tmp_path / "m.pt"
    if layout == "zip":
        _write_zip(path, obj, {})
    else:
        path.write_bytes(_legacy_bytes(obj, {}))
    with pytest.raises(UnsafeCheckpointError, match="BUILD"):
        read_torch_checkpoint(path)
    assert (dict(getattr(target, "__dict__", {})), getattr(target, "__defaults__", None)) == before


def test_build_on_a_storage_type_or_tensor_is_refused(tmp_path):
    pid = ("storage", _Global("torch", "FloatStorage"), "0", "cpu", 4)
    for obj in ({"t": _Build(_Global("torch", "FloatStorage"), {"dtype": "object"})},
                {"t": _Build(_tensor(pid, 0, (4,), (1,)), (1, (2,), None, False, "x"))}):
        _write_zip(tmp_path / "m.pt", obj, {"0": np.zeros(4, np.float32)})
        with pytest.raises(UnsafeCheckpointError, match="BUILD"):
            read_torch_checkpoint(tmp_path / "m.pt")


def test_state_dict_metadata_attribute_is_still_restored(tmp_path):
    # torch pickles a state_dict as an OrderedDict plus BUILD({"_metadata": ...}): that must keep working.
    pid = ("storage", _Global("torch", "FloatStorage"), "0", "cpu", 4)
    ordered = _Build(_Call(_Global("collections", "OrderedDict")), {"_metadata": {"": {"version": 1}}})
    out = bytearray(b"\x80\x02")
    _emit(ordered, out)
    _emit("w", out)
    _emit(_tensor(pid, 0, (4,), (1,)), out)
    out += b"s."  # SETITEM
    with zipfile.ZipFile(tmp_path / "m.pt", "w") as zf:
        zf.writestr("archive/data.pkl", bytes(out))
        zf.writestr("archive/data/0", np.arange(4, dtype=np.float32).tobytes())
    loaded = read_torch_checkpoint(tmp_path / "m.pt")
    assert isinstance(loaded, collections.OrderedDict) and loaded._metadata == {"": {"version": 1}}
    np.testing.assert_array_equal(loaded["w"], np.arange(4, dtype=np.float32))
