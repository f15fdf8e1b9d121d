"""KTH: the segment-list parser, the TFDS builder over a fake AVI tree, and the clip loader."""

import warnings

import numpy as np
import pytest

from pipelines import kth
from tests.pipelines import kth_fixtures as fake


def test_parse_real_sequences_file(test_data_dir):
    seq = kth.parse_sequences_file(test_data_dir / "kth" / "00sequences.txt")
    assert len(seq.segments) == 599 and seq.missing == ["person13_handclapping_d3"]
    assert sum(len(r) for r in seq.segments.values()) == 594 * 4 + 5 * 3
    assert seq.segments["person01_boxing_d1"] == [(0, 95), (95, 185), (185, 245), (245, 360)]
    assert seq.segments["person22_boxing_d1"] == [(0, 92), (103, 208), (221, 302)]
    assert seq.official_split == kth.OFFICIAL_SPLITS
    names = {f"person{p:02d}_{a}_{s}" for p in range(1, 26) for a in kth.ACTIONS for s in kth.SCENARIOS}
    assert set(seq.segments) | set(seq.missing) == names


def test_parse_errors_name_file_and_line(tmp_path):
    path = tmp_path / "00sequences.txt"
    path.write_text("header\nperson01_boxing_d1\t\tframes\t1-95, 96-x\n")
    with pytest.raises(ValueError, match=r"00sequences.txt:2: bad frame range '96-x'"):
        kth.parse_sequences_file(path)
    with pytest.raises(FileNotFoundError, match="(?s)nope.txt.*manual folder"):
        kth.parse_sequences_file(tmp_path / "nope.txt")


def test_split_persons():
    assert kth.split_persons("train") == tuple(range(1, 17))
    assert kth.split_persons("test") == tuple(range(17, 26))
    assert kth.split_persons("validation", "official") == (19, 20, 21, 23, 24, 25, 1, 4)
    with pytest.raises(ValueError, match="'validation' does not exist in the 'paper'"):
        kth.split_persons("validation")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("kth")
    manual = fake.make_fake_kth(root / "manual")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kth.builder(root / "tfds", manual_dir=manual)
    return root, [str(w.message) for w in caught]


def _frame_levels(clip):
    # Every frame is a constant gray level; recover it as an integer.
    levels = np.rint(clip[..., 0].reshape(clip.shape[0], -1) * 255.0)
    assert np.all(levels.min(axis=1) == levels.max(axis=1))
    return levels[:, 0].astype(int).tolist()


def test_builder_skips_bad_videos_with_a_summary(prepared):
    _, messages = prepared
    summary = [m for m in messages if "skipped 4 file(s), kept 3" in m]
    assert len(summary) == 1
    assert f"{fake.CORRUPT}_uncomp.avi" in summary[0] and f"{fake.CORRUPT_ONLY}_uncomp.avi" in summary[0]
    assert f"{fake.NOT_PRESENT}_uncomp.avi" in summary[0] and "not found" in summary[0]
    assert "person17_jogging_d4_uncomp.avi" in summary[0] and "truncated" in summary[0]
    assert not any(fake.MISSING in m for m in messages)


def test_builder_stores_listed_segments_per_person(prepared):
    root, _ = prepared
    b = kth.KthAction(data_dir=str(root / "tfds"))
    # person03's only video is corrupt: no (empty) split for it.
    assert sorted(b.info.splits.keys()) == ["person01", "person02", "person17"]
    examples = list(b.as_dataset(split="person01").as_numpy_iterator())
    assert sorted(e["segment"] for e in examples) == [0, 1]
    second = [e for e in examples if e["segment"] == 1][0]
    assert second["frames"].shape == (16, 120, 160, 1) and second["first_frame"] == 15
    np.testing.assert_array_equal(second["frames"][:, 60, 80, 0], [10 + 2 * i for i in range(14, 30)])


def test_train_clips_overlap_with_stride_one(prepared):
    root, _ = prepared
    ds = kth.load(root / "tfds", "train", context_frames=3, future_frames=2, image_size=None,
                  shuffle=False, persons=[1])
    got = [_frame_levels(c) for c in ds.as_numpy_iterator()]
    # Segments of person01_walking_d1: frames 0..11 and 14..29 (0-based); windows of 5, stride 1.
    expected = [[10 + 2 * (s + k) for k in range(5)] for s in list(range(0, 8)) + list(range(14, 26))]
    assert got == expected
    assert next(iter(ds)).shape == (5, 120, 160, 1)


def test_test_clips_do_not_overlap_and_are_resized(prepared):
    root, _ = prepared
    ds = kth.load(root / "tfds", "test", context_frames=4, future_frames=6, image_size=128)
    assert ds.element_spec.shape[0] == 10  # a static time axis, as models need
    clips = list(ds.as_numpy_iterator())
    assert all(c.shape == (10, 128, 128, 1) and c.dtype == np.float32 for c in clips)
    # person17_running_d3: 25 listed frames -> clips at 0 and 10; the truncated jogging video is gone.
    assert [_frame_levels(c) for c in clips] == [[120 + 2 * i for i in range(s, s + 10)] for s in (0, 10)]


def test_shuffle_is_seeded_and_keeps_the_set(prepared):
    root, _ = prepared
    kwargs = dict(context_frames=2, future_frames=2, image_size=16, persons=[1, 2])
    plain = [_frame_levels(c) for c in kth.load(root / "tfds", "train", shuffle=False, **kwargs)
             .as_numpy_iterator()]
    a = [_frame_levels(c) for c in kth.load(root / "tfds", "train", seed=3, **kwargs).as_numpy_iterator()]
    b = [_frame_levels(c) for c in kth.load(root / "tfds", "train", seed=3, **kwargs).as_numpy_iterator()]
    c = [_frame_levels(c) for c in kth.load(root / "tfds", "train", seed=4, **kwargs).as_numpy_iterator()]
    assert a == b and a != plain and a != c
    assert sorted(a) == sorted(plain) and len(plain) == 9 + 13 + 15


def test_load_errors(prepared, tmp_path):
    root, _ = prepared
    with pytest.raises(ValueError, match="has 40 frames"):
        kth.load(root / "tfds", "train", context_frames=20, future_frames=20, persons=[1, 2])
    with pytest.raises(ValueError, match=r"no prepared KTH data for persons \[3\]"):
        kth.load(root / "tfds", "train", persons=[3])
    with pytest.raises(FileNotFoundError, match="(?s)not prepared.*manual_dir"):
        kth.load(tmp_path / "empty", "train")
    with pytest.raises(FileNotFoundError, match="KTH manual folder .* is empty"):
        kth.load(tmp_path / "empty", "train", manual_dir=tmp_path)
    (tmp_path / "notes.txt").write_text("not KTH")
    with pytest.raises(FileNotFoundError, match="no 00sequences.txt under"):
        kth.load(tmp_path / "empty", "train", manual_dir=tmp_path)
    with pytest.raises(ValueError, match="future_frames"):
        kth.load(root / "tfds", "train", future_frames=0)


def test_strict_preparation_fails_on_the_first_bad_video(tmp_path):
    manual = fake.make_fake_kth(tmp_path / "manual")
    with pytest.raises(Exception, match="person02_handwaving_d1|person16_walking_d2|person17_jogging_d4"):
        kth.builder(tmp_path / "tfds", manual_dir=manual, strict=True)


def test_official_scheme_selects_the_header_persons(prepared):
    root, _ = prepared
    kwargs = dict(context_frames=5, future_frames=5, image_size=None, split_scheme="official")
    # Official split: person17 is train, person01 validation, person02 test.
    train = [_frame_levels(c)[0] for c in kth.load(root / "tfds", "train", shuffle=False, stride=10,
                                                     **kwargs).as_numpy_iterator()]
    assert train == [120, 140]  # person17_running_d3, frames 0 and 10
    val = [_frame_levels(c)[0] for c in kth.load(root / "tfds", "validation", **kwargs).as_numpy_iterator()]
    assert val == [10, 10 + 2 * 14]  # person01: one clip per segment at frames 0 and 14
    test = [_frame_levels(c)[0] for c in kth.load(root / "tfds", "test", **kwargs).as_numpy_iterator()]
    assert test == [70 + 2 * 2]  # person02_boxing_d2: segment 3-20 = 18 frames from frame 2, one clip of 10
