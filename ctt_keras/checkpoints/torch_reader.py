"""Reading PyTorch `.pt` / `.pth` checkpoints into NumPy without torch.

`torch.save` writes one of two layouts:

- the zip format (torch >= 1.6): `<archive>/data.pkl` holds the pickled object,
  `<archive>/data/<key>` the raw bytes of each storage, `<archive>/byteorder`
  (optional) says "little" or "big";
- the legacy format: a stream of pickles (magic number, protocol version,
  system info, the object, the list of storage keys) followed, for each key in
  that order, by an 8-byte little-endian element count and the raw bytes.

In both, tensors are pickled as calls to `torch._utils._rebuild_tensor_v2`
whose first argument is a persistent reference to a typed storage. This module
unpickles with an allow-list: only the handful of globals a tensor needs are
resolved (to our own NumPy-based stand-ins, never to torch); any other global
is refused before anything is called, and the BUILD opcode may only restore
the attributes of a fresh `OrderedDict` (a state_dict's `_metadata`).

Sizes are checked before memory is allocated: a storage may not declare more
bytes than the file holds, a tensor may not view more elements than its
storage holds, and the members of a zip archive may not expand to more than
`_MAX_EXPANSION` times the archive's own size (`torch.save` stores them
uncompressed). A file that breaks these rules raises `TorchCheckpointError`.
"""

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

__all__ = ["read_torch_checkpoint", "TorchCheckpointError", "UnsafeCheckpointError"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# Bounds on what a zip archive may expand to: `_MAX_EXPANSION` times its own size, at least `_MIN_BUDGET`.
_MAX_EXPANSION = 16
_MIN_BUDGET = 1 << 20
_LEGACY_PROTOCOL = 1001

# Storage class name -> NumPy dtype. bfloat16 has no NumPy dtype; it is read as
# uint16 and widened to float32 (exactly) when the tensor is rebuilt.
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128,
}


class TorchCheckpointError(ValueError):
    """The file is not a readable `torch.save` checkpoint (corrupt, truncated, unsupported)."""


class UnsafeCheckpointError(TorchCheckpointError):
    """The checkpoint's pickle asks for a global outside the allow-list."""


class _StorageType:
    """Stand-in for a `torch.<X>Storage` class: knows its name and dtype only."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])

    def __repr__(self):
        return f"torch.{self.name}"


class _Storage:
    """A flat, typed storage: a 1-D NumPy array plus the storage type it came from.

    `array=None` is a placeholder (the first pass over a legacy file, which only learns storage types).
    """

    def __init__(self, storage_type, array):
        self.storage_type = storage_type
        self.array = array


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    """Rebuilds a tensor as a NumPy copy of a (possibly strided) view of `storage`."""
    if not isinstance(storage, _Storage):
        raise TorchCheckpointError(f"tensor refers to {type(storage).__name__}, expected a storage")
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    storage_offset = int(storage_offset)
    if len(size) != len(stride):
        raise TorchCheckpointError(f"tensor size {size} and stride {stride} have different ranks")
    if any(s < 0 for s in size) or any(s < 0 for s in stride) or storage_offset < 0:
        raise TorchCheckpointError(
            f"negative size/stride/offset in tensor: size={size}, stride={stride}, offset={storage_offset}"
        )
    flat = storage.array
    if flat is None:
        return None
    numel = 1
    for n in size:
        numel *= n
    if numel > flat.shape[0]:
        # Overlapping (e.g. stride-0) views of a small storage: a copy could be any size at all.
        raise TorchCheckpointError(
            f"tensor of size {size} (stride {stride}) declares {numel} elements but its storage holds "
            f"{flat.shape[0]}: refusing to materialise an overlapping view"
        )
    if 0 in size:
        array = np.zeros(size, dtype=flat.dtype)
    else:
        # as_strided does no bounds checking: check the furthest element ourselves.
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.shape[0]:
            raise TorchCheckpointError(
                f"tensor (offset {storage_offset}, size {size}, stride {stride}) reaches element {last} "
                f"of a storage with {flat.shape[0]} elements"
            )
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[storage_offset:],
            shape=size,
            strides=tuple(s * itemsize for s in stride),
            writeable=False,
        )
        array = np.array(view, copy=True, order="C")
    if storage.storage_type.name == "BFloat16Storage":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *unused):
    """`nn.Parameter` rebuild: the parameter is just its data."""
    return data


def _rebuild_parameter_with_state(data, requires_grad=False, backward_hooks=None, state=None, *unused):
    """`nn.Parameter` rebuild with extra Python state, which is dropped."""
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch", "Size"): tuple,
}


class _RestrictedUnpickler(pickle._Unpickler):
    """Unpickler that resolves only allow-listed globals and typed-storage references.

    The pure-Python unpickler is used because its opcode table can be restricted: BUILD (which sets
    attributes or calls `__setstate__`) would otherwise let a file change an allow-listed function, a
    storage type or an array for the rest of the process. Checkpoint pickles are small (the tensors'
    bytes are stored apart), so its speed does not matter.

    Args:
        file: binary file object positioned at a pickle.
        load_storage: callable `(storage_type, key, numel, view_metadata) -> _Storage`
            for the persistent ids of tensors.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, load_storage):
        super().__init__(file)
        self._load_storage = load_storage

    def _load_build(self):
        state, target = self.stack[-1], self.stack[-2]
        if (type(target) is not collections.OrderedDict or type(state) is not dict
                or not all(isinstance(k, str) and not k.startswith("__") for k in state)):
            raise UnsafeCheckpointError(
                f"refusing the pickle BUILD opcode on {type(target).__name__} with a {type(state).__name__} "
                "state: a checkpoint may only restore the attributes of an OrderedDict (e.g. _metadata)"
            )
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = _load_build

    def find_class(self, module, name):
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafeCheckpointError(
                f"refusing to load global '{module}.{name}': a checkpoint may only contain tensors, "
                "storages, OrderedDicts and plain Python values"
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise TorchCheckpointError(f"unsupported persistent id {pid!r}; expected ('storage', ...)")
        storage_type, key, _location, numel = pid[1:5]
        view_metadata = pid[5] if len(pid) > 5 else None
        if not isinstance(storage_type, _StorageType):
            raise TorchCheckpointError(f"persistent id names {storage_type!r}, expected a torch storage type")
        return self._load_storage(storage_type, str(key), int(numel), view_metadata)


def _unpickle(file, load_storage):
    try:
        return _RestrictedUnpickler(file, load_storage).load()
    except TorchCheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, struct.error, UnicodeDecodeError) as error:
        raise TorchCheckpointError(f"corrupt or truncated pickle: {type(error).__name__}: {error}") from error


class _ZipBudget:
    """How many decompressed bytes an archive may still produce (bounded by what the file can hold)."""

    def __init__(self, path, archive_bytes):
        self.path = path
        self.archive_bytes = archive_bytes
        self.remaining = max(_MAX_EXPANSION * archive_bytes, _MIN_BUDGET)

    def read(self, zf, name):
        info = zf.getinfo(name)
        if info.file_size > self.remaining:
            raise TorchCheckpointError(
                f"{self.path}: member '{name}' would expand to {info.file_size} bytes from an archive of "
                f"{self.archive_bytes} bytes (more than {_MAX_EXPANSION}x what the file holds): refusing it"
            )
        self.remaining -= info.file_size
        with zf.open(info) as member:  # zipfile stops at the declared size and checks the CRC
            return member.read()


def _read_zip(path, zf, archive_bytes):
    budget = _ZipBudget(path, archive_bytes)
    names = zf.namelist()
    pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise TorchCheckpointError(f"{path}: zip archive without a single 'data.pkl' (found {pickles})")
    prefix = pickles[0][: -len("data.pkl")]
    byteorder = "little"
    if prefix + "byteorder" in names:
        byteorder = budget.read(zf, prefix + "byteorder").decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise TorchCheckpointError(f"{path}: unknown byteorder {byteorder!r}")
    cache = {}

    def load_storage(storage_type, key, numel, view_metadata):
        if key not in cache:
            member = f"{prefix}data/{key}"
            try:
                stored = zf.getinfo(member).file_size
            except KeyError:
                raise TorchCheckpointError(
                    f"{path}: storage '{member}' is missing from the archive"
                ) from None
            dtype = storage_type.dtype.newbyteorder("<" if byteorder == "little" else ">")
            if numel < 0 or stored % dtype.itemsize or stored // dtype.itemsize < numel:
                raise TorchCheckpointError(
                    f"{path}: storage '{key}' has {stored} bytes, expected {numel} x {dtype.itemsize}"
                )
            raw = budget.read(zf, member)
            array = np.frombuffer(raw, dtype=dtype).astype(storage_type.dtype, copy=False)
            cache[key] = _Storage(storage_type, array)
        return cache[key]

    return _unpickle(io.BytesIO(budget.read(zf, pickles[0])), load_storage)


def _read_legacy(path, data):
    stream = io.BytesIO(data)

    def no_storage(*args):
        raise TorchCheckpointError(f"{path}: storage reference in a legacy header pickle")

    magic = _unpickle(stream, no_storage)
    if magic != _LEGACY_MAGIC:
        raise TorchCheckpointError(f"{path}: not a torch.save file (no zip archive, bad legacy magic number)")
    protocol = _unpickle(stream, no_storage)
    if protocol != _LEGACY_PROTOCOL:
        raise TorchCheckpointError(f"{path}: unsupported legacy protocol version {protocol!r}")
    sys_info = _unpickle(stream, no_storage)
    little = sys_info.get("little_endian", True) if isinstance(sys_info, dict) else True
    object_start = stream.tell()

    # First pass: learn each storage's type (needed to size its bytes) from placeholders that hold
    # nothing; a storage that declares more bytes than the whole file is refused here.
    types = {}

    def record_type(storage_type, key, numel, view_metadata):
        if numel < 0 or numel * storage_type.dtype.itemsize > len(data):
            raise TorchCheckpointError(
                f"{path}: storage '{key}' declares {numel} elements ({numel * storage_type.dtype.itemsize} "
                f"bytes) but the file has only {len(data)} bytes"
            )
        types[key] = storage_type
        return _Storage(storage_type, None)

    _unpickle(stream, record_type)
    keys = _unpickle(stream, no_storage)
    if not isinstance(keys, list) or set(map(str, keys)) != set(types):
        raise TorchCheckpointError(f"{path}: storage key list does not match the storages referenced")
    roots = {}
    for key in map(str, keys):
        header = stream.read(8)
        if len(header) != 8:
            raise TorchCheckpointError(f"{path}: truncated before the data of storage '{key}'")
        (numel,) = struct.unpack("<q", header)
        dtype = types[key].dtype.newbyteorder("<" if little else ">")
        left = len(data) - stream.tell()
        if numel < 0 or numel * dtype.itemsize > left:
            raise TorchCheckpointError(
                f"{path}: storage '{key}' declares {numel} elements but only {left} bytes of the file remain"
            )
        raw = stream.read(numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise TorchCheckpointError(
                f"{path}: truncated data of storage '{key}' ({numel} elements expected)"
            )
        array = np.frombuffer(raw, dtype=dtype).astype(types[key].dtype, copy=False)
        roots[key] = _Storage(types[key], array)

    def load_storage(storage_type, key, numel, view_metadata):
        root = roots[key]
        if view_metadata is None:
            return root
        _view_key, offset, size = view_metadata
        return _Storage(root.storage_type, root.array[int(offset): int(offset) + int(size)])

    stream.seek(object_start)
    return _unpickle(stream, load_storage)


def read_torch_checkpoint(path):
    """Reads a `torch.save` file (zip or legacy format) into NumPy arrays, without torch.

    Only tensors, typed storages, `OrderedDict`s and plain Python values
    (dicts, lists, tuples, strings, numbers, None) are accepted; a pickle that
    names any other global is refused before it can run.

    Args:
        path: path to a `.pt` / `.pth` file.

    Returns:
        The saved object with every tensor replaced by a NumPy array (a copy,
        C-contiguous, same dtype; bfloat16 is widened to float32). A state_dict
        comes back as an `OrderedDict`; a nested dict such as
        `{"model_state_dict": ..., "epoch": 3}` keeps its structure and its
        ints/floats.

    Raises:
        UnsafeCheckpointError: the pickle references a global outside the allow-list.
        TorchCheckpointError: the file is corrupt, truncated or in an unsupported format.
        FileNotFoundError: `path` does not exist.

    Example:
    ```python
    from ctt_keras.checkpoints import read_torch_checkpoint
    state = read_torch_checkpoint("model.pt")["model_state_dict"]
    state["module.layers.output.weight"].shape  # (1, 8, 1, 1)
    ```
    """
    path = str(path)
    with open(path, "rb") as f:
        data = f.read()
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return _read_zip(path, zf, len(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
            raise TorchCheckpointError(f"{path}: corrupt zip archive: {error}") from error
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip's local-file or end-of-archive signature
        raise TorchCheckpointError(f"{path}: truncated or corrupt zip archive")
    return _read_legacy(path, data)
