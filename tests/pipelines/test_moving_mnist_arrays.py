"""Moving-MNIST without TensorFlow: the NumPy iterators and PyDatasets give exactly the tf.data clips."""

import itertools

import keras
import numpy as np
import pytest

from pipelines import moving_mnist, moving_mnist_arrays, moving_mnist_files


def _tf_clips(dataset, count=None):
    if count is not None:
        dataset = dataset.take(count)
    return np.stack([clip.numpy() for clip in dataset])


def test_train_stream_equals_the_tf_data_stream_across_chunks():
    # 150 sequences cross two chunk boundaries of the generator (64 sequences per chunk).
    expected = _tf_clips(moving_mnist.load("train", seed=5, sequence_length=6), 150)
    got = np.stack(
        list(itertools.islice(moving_mnist_arrays.sequences("train", seed=5, sequence_length=6), 150))
    )
    assert got.dtype == np.float32 and got.shape == (150, 6, 64, 64, 1)
    np.testing.assert_array_equal(got, expected)
    assert got.max() == 1.0 and got.min() == 0.0


@pytest.mark.parametrize("shuffle", [False, True])
def test_fixed_split_equals_the_tf_data_set(shuffle):
    kwargs = dict(seed=2, num_sequences=70, sequence_length=4, shuffle=shuffle, shuffle_seed=9)
    expected = _tf_clips(moving_mnist.load("validation", **kwargs))
    got = np.stack(list(moving_mnist_arrays.sequences("validation", **kwargs)))
    np.testing.assert_array_equal(got, expected)
    batched = list(moving_mnist_arrays.batches("validation", batch_size=32, **kwargs))
    assert [len(b) for b in batched] == [32, 32, 6]
    np.testing.assert_array_equal(np.concatenate(batched), expected)
    dropped = list(moving_mnist_arrays.batches("validation", batch_size=32, drop_remainder=True, **kwargs))
    assert [len(b) for b in dropped] == [32, 32]


def test_pydataset_batches_are_random_access_and_match_the_stream():
    stream = np.stack(
        list(itertools.islice(moving_mnist_arrays.sequences("train", seed=1, sequence_length=3), 5 * 48))
    )
    dataset = moving_mnist_arrays.MovingMNIST("train", batch_size=48, seed=1, sequence_length=3)
    assert isinstance(dataset, keras.utils.PyDataset) and dataset.num_batches is None
    for index in (4, 1, 0, 3, 2, 4):  # out of order, repeated, across chunk boundaries
        np.testing.assert_array_equal(
            dataset[index], stream[index * 48 : (index + 1) * 48], err_msg=str(index)
        )
    with pytest.raises(TypeError, match="endless"):
        len(dataset)

    test = moving_mnist_arrays.MovingMNIST("test", batch_size=16, seed=0, num_sequences=40, sequence_length=3)
    assert len(test) == test.num_batches == 3
    expected = _tf_clips(moving_mnist.load("test", seed=0, num_sequences=40, sequence_length=3))
    np.testing.assert_array_equal(np.concatenate([test[i] for i in range(3)]), expected)
    assert test[2].shape[0] == 8
    with pytest.raises(IndexError, match="out of range"):
        test[3]


def test_files_equal_the_tf_data_reader(tmp_path):
    uint8 = np.random.default_rng(0).integers(0, 256, size=(5, 4, 8, 8, 1), dtype=np.uint8)
    npz = moving_mnist_files.write_npz(tmp_path / "clips.npz", uint8)
    npy = tmp_path / "mnist_test_seq.npy"
    np.save(npy, np.transpose(uint8[..., 0], (1, 0, 2, 3)))  # the community layout is time first
    for path in (npz, npy):
        expected = _tf_clips(moving_mnist_files.load_file(path))
        np.testing.assert_array_equal(np.stack(list(moving_mnist_arrays.file_sequences(path))), expected)
        dataset = moving_mnist_arrays.MovingMNISTFile(path, batch_size=2)
        assert len(dataset) == 3
        np.testing.assert_array_equal(np.concatenate([dataset[i] for i in range(3)]), expected)
    np.testing.assert_array_equal(expected * 255.0, uint8.astype(np.float32))


def test_bad_arguments_and_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="num_sequences must be None"):
        moving_mnist_arrays.MovingMNIST("train", num_sequences=3)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        moving_mnist_arrays.MovingMNIST("test", batch_size=0)
    with pytest.raises(ValueError, match="split must be"):
        next(moving_mnist_arrays.sequences("dev"))
    with pytest.raises(ValueError, match="TFRecord shards need TensorFlow"):
        moving_mnist_arrays.read_file(tmp_path / "x.tfrecord")
    with pytest.raises(ValueError, match="unknown Moving-MNIST file type"):
        moving_mnist_arrays.read_file(tmp_path / "x.gif")
    with pytest.raises(FileNotFoundError, match="not found"):
        moving_mnist_arrays.read_file(tmp_path / "missing.npz")
    empty = moving_mnist_files.write_npz(tmp_path / "empty.npz", np.zeros((0, 2, 8, 8, 1), np.uint8))
    with pytest.raises(ValueError, match="holds no sequences"):
        moving_mnist_arrays.MovingMNISTFile(empty)


def test_fit_reads_the_pydataset():
    from ctt_keras.models import VideoPredictor

    model = VideoPredictor(
        (64, 64, 1),
        layers_per_block=(1,),
        hidden_channels=(2,),
        skip_stride=None,
        kernel_size=3,
        rank=1,
        order=1,
        steps=1,
        context_frames=2,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=False)
    data = moving_mnist_arrays.MovingMNIST("train", batch_size=2, seed=0, sequence_length=3)
    history = model.fit(data, steps_per_epoch=2, epochs=1, shuffle=False, verbose=0)
    clips = np.concatenate([data[0], data[1]])
    # SGD(0) leaves the weights alone, so the mean loss is that of the two batches the stream begins with.
    expected = np.mean(
        [
            float(model.compute_loss(x=clips[i : i + 2], y_pred=model(clips[i : i + 2], training=True)))
            for i in (0, 2)
        ]
    )
    assert abs(history.history["loss"][0] - expected) < 1e-5
