"""Moving-MNIST file readers and writers, and tools/prepare_moving_mnist.py."""

import importlib.util
import pathlib

import numpy as np
import pytest

from pipelines import moving_mnist_files as files

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "prepare_moving_mnist.py"


def _sequences(n=3, t=4, size=8):
    return np.arange(n * t * size * size, dtype=np.int64).reshape(n, t, size, size).astype(np.uint8)


def test_mnist_test_seq_is_transposed_to_sequence_first(tmp_path):
    seqs = _sequences()
    np.save(tmp_path / "mnist_test_seq.npy", np.transpose(seqs, (1, 0, 2, 3)))  # time first on disk
    got = files.read_mnist_test_seq(tmp_path / "mnist_test_seq.npy")
    assert got.shape == (3, 4, 8, 8, 1)
    np.testing.assert_array_equal(got[..., 0], seqs)
    streamed = np.stack(list(files.load_file(tmp_path / "mnist_test_seq.npy").as_numpy_iterator()))
    np.testing.assert_array_equal(streamed[..., 0], seqs.astype(np.float32) / 255.0)


def test_mnist_test_seq_errors(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((4, 2, 8, 8), np.float32))
    with pytest.raises(ValueError, match="dtype float32"):
        files.read_mnist_test_seq(tmp_path / "f.npy")
    np.save(tmp_path / "s.npy", np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(4, 8, 8\)"):
        files.read_mnist_test_seq(tmp_path / "s.npy")
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        files.read_mnist_test_seq(tmp_path / "missing.npy")


def test_npz_round_trip_and_errors(tmp_path):
    seqs = _sequences()
    path = files.write_npz(tmp_path / "a.npz", seqs)
    with np.load(path) as archive:
        assert archive.files == ["data"] and archive["data"].shape == (3, 4, 8, 8, 1)
    np.testing.assert_array_equal(files.read_npz(path)[..., 0], seqs)
    np.savez(tmp_path / "float.npz", data=seqs[..., None].astype(np.float32))
    np.testing.assert_array_equal(files.read_npz(tmp_path / "float.npz")[..., 0], seqs)
    np.savez(tmp_path / "key.npz", frames=seqs[..., None])
    with pytest.raises(KeyError, match=r"'data'.*\['frames'\]"):
        files.read_npz(tmp_path / "key.npz")
    np.savez(tmp_path / "shape.npz", data=seqs)
    with pytest.raises(ValueError, match=r"shape \(3, 4, 8, 8\)"):
        files.read_npz(tmp_path / "shape.npz")
    np.savez(tmp_path / "range.npz", data=seqs[..., None] / 255.0 * 300.0)
    with pytest.raises(ValueError, match="0..255"):
        files.read_npz(tmp_path / "range.npz")
    np.savez(tmp_path / "bool.npz", data=seqs[..., None] > 3)
    with pytest.raises(ValueError, match="dtype bool"):
        files.read_npz(tmp_path / "bool.npz")
    with pytest.raises(ValueError, match=r"\.txt"):
        files.load_file(tmp_path / "a.txt")


def test_tfrecord_round_trip(tmp_path):
    seqs = _sequences(n=5)
    paths = files.write_tfrecords(tmp_path / "out" / "mm", seqs, num_shards=2)
    assert [p.name for p in paths] == ["mm-00000-of-00002.tfrecord", "mm-00001-of-00002.tfrecord"]
    got = np.stack(list(files.load_tfrecords(str(tmp_path / "out" / "mm-*")).as_numpy_iterator()))
    np.testing.assert_array_equal(got[..., 0], seqs.astype(np.float32) / 255.0)
    with pytest.raises(FileNotFoundError, match="nothing"):
        files.load_tfrecords(str(tmp_path / "nothing-*"))
    with pytest.raises(ValueError, match="num_shards"):
        files.write_tfrecords(tmp_path / "x", seqs, num_shards=6)


def test_prepare_tool_writes_the_loader_sequences(tmp_path):
    spec = importlib.util.spec_from_file_location("prepare_moving_mnist", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    written = tool.main(["--split", "validation", "--seed", "3", "--num-sequences", "6",
                         "--sequence-length", "5", "--out-dir", str(tmp_path), "--num-shards", "2"])
    assert len(written) == 3
    from pipelines import moving_mnist
    expected = np.stack(list(moving_mnist.load("validation", seed=3, num_sequences=6,
                                               sequence_length=5).as_numpy_iterator()))
    np.testing.assert_array_equal(files.read_npz(written[0]).astype(np.float32) / 255.0, expected)
    from_records = np.stack(list(files.load_tfrecords(written[1:]).as_numpy_iterator()))
    np.testing.assert_array_equal(from_records, expected)
