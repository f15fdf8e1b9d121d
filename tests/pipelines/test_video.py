"""Video decoding (OpenCV and PyAV) and the skip-with-summary helper."""

import numpy as np
import pytest

from pipelines import failures, video


@pytest.fixture(scope="module")
def noise_avi(tmp_path_factory):
    import cv2

    path = tmp_path_factory.mktemp("video") / "noise.avi"
    frames = np.random.default_rng(0).integers(0, 256, (12, 120, 160), dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 25, (160, 120), False)
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path, frames


@pytest.mark.parametrize("backend", video.BACKENDS)
def test_lossless_avi_decodes_exactly(noise_avi, backend):
    path, frames = noise_avi
    got = video.read_video(path, mode="gray", backend=backend)
    assert got.shape == (12, 120, 160, 1) and got.dtype == np.uint8
    np.testing.assert_array_equal(got[..., 0], frames)
    rgb = video.read_video(path, mode="rgb", backend=backend)
    assert rgb.shape == (12, 120, 160, 3)
    np.testing.assert_array_equal(rgb[..., 1], frames)


@pytest.mark.parametrize("backend", video.BACKENDS)
def test_truncated_and_corrupt_files_raise_naming_the_file(noise_avi, tmp_path, backend):
    data = noise_avi[0].read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) * 6 // 10])
    with pytest.raises(video.VideoDecodeError, match="cut.avi"):
        video.read_video(tmp_path / "cut.avi", backend=backend)
    (tmp_path / "junk.avi").write_bytes(np.random.default_rng(1).bytes(3000))
    with pytest.raises(video.VideoDecodeError, match="junk.avi"):
        video.read_video(tmp_path / "junk.avi", backend=backend)
    with pytest.raises(FileNotFoundError, match="absent.avi"):
        video.read_video(tmp_path / "absent.avi", backend=backend)


def test_bad_arguments(noise_avi):
    with pytest.raises(ValueError, match="mode"):
        video.read_video(noise_avi[0], mode="bgr")
    with pytest.raises(ValueError, match="backend"):
        video.read_video(noise_avi[0], backend="imageio")


def test_skipped_files_summary_and_strict_mode():
    skipped = failures.SkippedFiles("DS")
    with pytest.warns(RuntimeWarning, match="DS: skipping a.avi: broken"):
        skipped.skip("a.avi", ValueError("broken"))
    with pytest.warns(RuntimeWarning, match=r"skipped 1 file\(s\), kept 2"):
        assert skipped.finish(2) == [("a.avi", "broken")]
    with pytest.raises(ValueError, match="empty dataset"), pytest.warns(RuntimeWarning):
        skipped.finish(0)
    strict = failures.SkippedFiles("DS", strict=True)
    with pytest.raises(video.VideoDecodeError, match="b.avi: fatal"):
        strict.skip("b.avi", video.VideoDecodeError("b.avi: fatal"))
    with pytest.raises(ValueError, match="DS: c.avi: gone"):
        strict.skip("c.avi", FileNotFoundError("gone"))


def test_probe_checks_length_and_last_needed_frame(noise_avi, tmp_path):
    path, _ = noise_avi
    assert video.probe_video(path, 12) == 12
    with pytest.raises(video.VideoDecodeError, match="noise.avi: truncated, 13 frames needed"):
        video.probe_video(path, 13)
    (tmp_path / "junk.avi").write_bytes(np.random.default_rng(2).bytes(3000))
    with pytest.raises(video.VideoDecodeError, match="junk.avi"):
        video.probe_video(tmp_path / "junk.avi", 1)
