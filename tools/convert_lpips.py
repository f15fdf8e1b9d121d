"""Converts the official LPIPS v0.1 weights into the bundle that `ctt_keras.metrics.LPIPS` loads.

Inputs (see `../shared/data/README.md`): the "net-lin" linear layers `weights/v0.1/<net>.pth`
(a torch zip-format state_dict, read without torch) and the torchvision backbone
`backbones/<backbone>_features.npz`. Output: `ctt_keras/metrics/lpips_weights/<net>.npz` with
Keras layouts (conv kernels `[kh, kw, in, out]`, linear weights `[C]`), written byte-for-byte
reproducibly, and its sha256 printed for `lpips_weights.SHA256`.

Usage:
    python tools/convert_lpips.py --lpips-dir ../shared/data/lpips [--nets alex squeeze]
"""

import argparse
import hashlib
import io
import pathlib
import sys
import zipfile

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from ctt_keras.checkpoints import read_torch_checkpoint  # noqa: E402

BACKBONE_FILES = {"alex": "alexnet_features.npz", "squeeze": "squeezenet1_1_features.npz"}
OUTPUT_DIR = REPO_ROOT / "ctt_keras" / "metrics" / "lpips_weights"


def convert(net, lpips_dir):
    """Returns the converted arrays of one network as an ordered dict name -> float32 array."""
    lpips_dir = pathlib.Path(lpips_dir)
    arrays = {}
    with np.load(lpips_dir / "backbones" / BACKBONE_FILES[net]) as backbone:
        for name in backbone.files:
            value = backbone[name].astype(np.float32)
            if name.endswith(".weight"):
                arrays[name[: -len("weight")] + "kernel"] = np.transpose(value, (2, 3, 1, 0))
            else:
                arrays[name] = value
    linear = read_torch_checkpoint(lpips_dir / "weights" / "v0.1" / f"{net}.pth")
    for name, value in linear.items():
        # "lin3.model.1.weight" [1, C, 1, 1] -> "lin3" [C]
        arrays[name.split(".")[0]] = value.reshape(-1).astype(np.float32)
    return arrays


def npz_bytes(arrays):
    """Serialises arrays as an .npz whose bytes depend only on the arrays (fixed zip timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            zf.writestr(info, member.getvalue())
    return buffer.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lpips-dir", default=str(REPO_ROOT.parent / "shared" / "data" / "lpips"))
    parser.add_argument("--nets", nargs="+", default=sorted(BACKBONE_FILES), choices=sorted(BACKBONE_FILES))
    parser.add_argument("--output-dir", default=str(OUTPUT_DIR))
    args = parser.parse_args(argv)
    for net in args.nets:
        data = npz_bytes(convert(net, args.lpips_dir))
        path = pathlib.Path(args.output_dir) / f"{net}.npz"
        path.write_bytes(data)
        print(f'"{net}": "{hashlib.sha256(data).hexdigest()}",  # {path.name}, {len(data)} bytes')


if __name__ == "__main__":
    main()
