"""Writes a fixed Moving-MNIST split to `.npz` (official layout) and/or TFRecord shards.

    ctt-prepare-moving-mnist --split test --seed 0 --out-dir data/mmnist --formats npz tfrecord --num-shards 8

The sequences are exactly those of `ctt_keras.pipelines.moving_mnist.load(split, seed=...)` (same seed, same
data); `ctt_keras.pipelines.moving_mnist.write_split` does the work.
"""

import argparse
import os
import pathlib
import sys

from ctt_keras import argument_validation as av
from ctt_keras.cli import _flags


def build_parser(prog="ctt-prepare-moving-mnist"):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["validation", "test"], default="test")
    _flags.add_number(parser, "--seed", av.SEED, default=0)
    _flags.add_number(parser, "--num-sequences", av.POSITIVE_INT, default=None,
                        help="default: 3000 for validation, 10000 for test")
    _flags.add_number(parser, "--sequence-length", av.POSITIVE_INT, default=20)
    _flags.add_number(parser, "--num-digits", av.POSITIVE_INT, default=2)
    parser.add_argument("--source", default="bundled", help="'bundled', 'keras' or an MNIST IDX folder")
    parser.add_argument("--out-dir", type=pathlib.Path, required=True)
    parser.add_argument("--formats", nargs="+", choices=["npz", "tfrecord"], default=["npz", "tfrecord"])
    _flags.add_number(parser, "--num-shards", av.POSITIVE_INT, default=8)
    return parser


def write(argv=None, prog="ctt-prepare-moving-mnist"):
    """Parses flags, writes the files and prints their paths; returns the list of paths."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        av.check_writable_folder("--out-dir", args.out_dir)
    except ValueError as error:
        parser.error(str(error))
    from ctt_keras.pipelines import moving_mnist
    from ctt_keras.training import progress

    try:
        written = moving_mnist.write_split(
            args.out_dir, args.split, seed=args.seed, num_sequences=args.num_sequences,
            sequence_length=args.sequence_length, num_digits=args.num_digits, source=args.source,
            formats=args.formats, num_shards=args.num_shards,
            progress=lambda total, label: _labelled(progress.progbar(total, "seq"), label))
    except (ValueError, OSError) as error:
        parser.error(str(error))
    for path in written:
        print(path)
    return written


def _labelled(bar, label):
    print(label, flush=True)
    return bar


def main(argv=None, prog="ctt-prepare-moving-mnist"):
    """The `ctt-prepare-moving-mnist` entry point: 0 once the files are written."""
    write(argv, prog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
