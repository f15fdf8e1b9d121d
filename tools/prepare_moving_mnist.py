"""Writes a fixed Moving-MNIST split to `.npz` (official layout) and/or TFRecord shards.

Usage:
    python tools/prepare_moving_mnist.py --split test --seed 0 --out-dir data/mmnist \
        --formats npz tfrecord --num-shards 8

The sequences are exactly those of `pipelines.moving_mnist.load(split, seed=...)` (same seed, same data).
"""

import argparse
import pathlib
import sys

import numpy as np
import tqdm

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from pipelines import moving_mnist, moving_mnist_files  # noqa: E402


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["validation", "test"], default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-sequences", type=int, default=None,
                        help="default: 3000 for validation, 10000 for test")
    parser.add_argument("--sequence-length", type=int, default=20)
    parser.add_argument("--num-digits", type=int, default=2)
    parser.add_argument("--source", default="bundled", help="'bundled', 'keras' or an MNIST IDX folder")
    parser.add_argument("--out-dir", type=pathlib.Path, required=True)
    parser.add_argument("--formats", nargs="+", choices=["npz", "tfrecord"], default=["npz", "tfrecord"])
    parser.add_argument("--num-shards", type=int, default=8)
    return parser.parse_args(argv)


def main(argv=None):
    args = _parse(argv)
    dataset = moving_mnist.load(args.split, sequence_length=args.sequence_length,
                                num_digits=args.num_digits, seed=args.seed,
                                num_sequences=args.num_sequences, source=args.source)
    total = int(dataset.cardinality())
    sequences = np.empty((total, args.sequence_length, 64, 64, 1), dtype=np.uint8)
    with tqdm.tqdm(total=total, desc=f"generate {args.split}", unit="seq") as bar:
        for i, clip in enumerate(dataset.as_numpy_iterator()):
            sequences[i] = np.rint(clip * 255.0).astype(np.uint8)
            bar.update(1)
    stem = f"moving_mnist{args.num_digits}_{args.split}_seed{args.seed}"
    written = []
    if "npz" in args.formats:
        written.append(moving_mnist_files.write_npz(args.out_dir / f"{stem}.npz", sequences))
    if "tfrecord" in args.formats:
        with tqdm.tqdm(total=total, desc="write TFRecord", unit="seq") as bar:
            written += moving_mnist_files.write_tfrecords(args.out_dir / stem, sequences,
                                                          num_shards=args.num_shards, progress=bar.update)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
