"""The bundled, converted LPIPS v0.1 weights (see README.md here for provenance and licences)."""

import hashlib
import io
import pathlib

import numpy as np

SHA256 = {
    "alex": "c5654289c6299c42daa259fee328db64cbb66b137f72f185b37ed2a4941b8ff8",
    "squeeze": "26b94eefb6e4d66f0c27fde82d60cd7c6b7714f4a6685a3f0a949da4f1fad5f4",
}
_DIR = pathlib.Path(__file__).resolve().parent


def load_weights(net):
    """Loads the converted weights of one LPIPS network after checking the file's sha256.

    Args:
        net: `"alex"` or `"squeeze"`.

    Returns:
        dict name -> float32 NumPy array (`features.<i>[.<part>].kernel/bias`, `lin<k>`).

    Raises:
        ValueError: unknown `net`, or the file's checksum differs from the recorded one.
    """
    if net not in SHA256:
        raise ValueError(f"`net` must be one of {tuple(SHA256)}; got {net!r}")
    path = _DIR / f"{net}.npz"
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[net]:
        raise ValueError(
            f"{path} has sha256 {digest}, expected {SHA256[net]}: the bundled weights are damaged"
        )
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}
