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
    np.save(tmp_path / "f.npy", (np.full((4, 2, 8, 8), 0.5) * np.arange(8)).astype(np.float32))  # 0..3.5
    with pytest.raises(ValueError, match=r"f\.npy: dtype float32 with values in \[0\.0, 3\.5\]"):
        files.read_mnist_test_seq(tmp_path / "f.npy")
    np.save(tmp_path / "i.npy", np.zeros((4, 2, 8, 8), np.complex64))
    with pytest.raises(ValueError, match="dtype complex64"):
        files.read_mnist_test_seq(tmp_path / "i.npy")
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


def _unit_frames(n=3, t=4, size=8, seed=0):
    return np.random.default_rng(seed).random((n, t, size, size, 1)).astype(np.float32)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_float_frames_in_unit_range_are_read_as_they_are(tmp_path, dtype):
    # Float clips in [0, 1] (the library's convention) were rounded as if 0..255: black {0, 1/255} clips.
    frames = _unit_frames().astype(dtype)
    np.savez(tmp_path / "unit.npz", data=frames)
    got = files.read_npz(tmp_path / "unit.npz")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, frames.astype(np.float32))
    streamed = np.stack(list(files.load_file(tmp_path / "unit.npz").as_numpy_iterator()))
    np.testing.assert_array_equal(streamed, frames.astype(np.float32))
    np.save(tmp_path / "unit.npy", np.transpose(frames[..., 0], (1, 0, 2, 3)))  # community layout, time first
    streamed = np.stack(list(files.load_file(tmp_path / "unit.npy").as_numpy_iterator()))
    np.testing.assert_array_equal(streamed, frames.astype(np.float32))


def test_pixel_values_stored_as_floats_or_ints_are_pixels(tmp_path):
    seqs = _sequences()[..., None]
    for dtype in ("float32", "int64", "uint16"):
        np.savez(tmp_path / f"{dtype}.npz", data=seqs.astype(dtype))
        got = files.read_npz(tmp_path / f"{dtype}.npz")
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, seqs)
        streamed = np.stack(list(files.load_file(tmp_path / f"{dtype}.npz").as_numpy_iterator()))
        np.testing.assert_array_equal(streamed, seqs / np.float32(255.0))


@pytest.mark.parametrize("values, message", [
    ([0.0, np.nan, 0.5, np.inf], r"bad\.npz\['data'\]: 48 of 96 values are NaN or infinite"),
    ([0.0, -0.25, 0.5, 1.0], r"values in \[-0\.25, 1\.0\].*neither frames in \[0, 1\]"),
    ([0.0, 1.5, 0.5, 1.0], r"values in \[0\.0, 1\.5\]"),        # fractional and above 1: no reading fits
    ([0.0, 256.0, 0.5, 1.0], r"values in \[0\.0, 256\.0\]"),
])
def test_bad_float_values_are_refused_with_the_file_named(tmp_path, values, message):
    frames = np.resize(np.asarray(values, np.float32), (2, 3, 4, 4, 1))
    np.savez(tmp_path / "bad.npz", data=frames)
    with pytest.raises(ValueError, match=message):
        files.read_npz(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match=message):
        files.load_file(tmp_path / "bad.npz")
    np.save(tmp_path / "bad.npy", np.transpose(frames[..., 0], (1, 0, 2, 3)))
    with pytest.raises(ValueError, match=message.replace(r"bad\.npz\['data'\]", r"bad\.npy")):
        files.read_mnist_test_seq(tmp_path / "bad.npy")


def test_train_cli_data_dir_trains_on_float_clips(tmp_path):
    # What ctt-train --data-dir feeds the model from float files: the clips as stored, not black ones.
    from ctt_keras.pipelines import moving_mnist
    from ctt_keras.training import data, run_config

    clips = {"train": _unit_frames(4, t=6, seed=0), "validation": _unit_frames(2, t=6, seed=1)}
    for split, values in clips.items():
        np.savez(tmp_path / f"{split}.npz", data=values)
    config = run_config.resolve({"data_dir": str(tmp_path), "context_frames": 3, "future_frames": 3,
                                 "validation_sequences": 2, "logdir": str(tmp_path / "runs")})
    assert tuple(moving_mnist.frame_shape(config)) == (8, 8, 1)
    np.testing.assert_array_equal(data.fixed_clips(config, "validation", 6, 2), clips["validation"])
    streamed = next(iter(data.clip_dataset(config, "train", 6).batch(4))).numpy()
    assert sorted(map(float, streamed.sum(axis=(1, 2, 3, 4)))) == pytest.approx(
        sorted(map(float, clips["train"].sum(axis=(1, 2, 3, 4)))), rel=1e-6)


def test_tfrecord_with_float_bytes_is_refused_by_name(tmp_path):
    import tensorflow as tf

    frames = _unit_frames(n=1)[0]  # float32 bytes: 4 per value
    example = tf.train.Example(features=tf.train.Features(feature={
        "frames": tf.train.Feature(bytes_list=tf.train.BytesList(value=[frames.tobytes()])),
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=list(frames.shape))),
    }))
    with tf.io.TFRecordWriter(str(tmp_path / "f.tfrecord")) as writer:
        writer.write(example.SerializeToString())
    with pytest.raises(tf.errors.InvalidArgumentError, match="one uint8 value per element of `shape`"):
        list(files.load_file(tmp_path / "f.tfrecord"))


def test_interrupted_writes_leave_the_old_file(tmp_path, monkeypatch):
    import errno

    path = files.write_npz(tmp_path / "a.npz", _sequences())
    before = path.read_bytes()

    def full_disk(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full_disk)
    with pytest.raises(OSError, match="No space left"):
        files.write_npz(path, _sequences(n=5))
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]
    monkeypatch.undo()

    def failing_progress(count):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        files.write_tfrecords(tmp_path / "mm", _sequences(n=2), progress=failing_progress)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]  # no half shard for a glob to match


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
