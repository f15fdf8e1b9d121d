"""Something-Something V2: JSON readers, class subsets, the TFDS builder on fake WebM files, the loader."""

import json
import re
import warnings

import numpy as np
import pytest
import tensorflow as tf

from pipelines import clips, ssv2
from tests.pipelines import ssv2_fixtures as fake

SUBSET = [16, 149, 47]  # new labels 0, 1, 2


def test_subset41_matches_the_reference_table(test_data_dir):
    table = (test_data_dir / "ssv2_subset.md").read_text()
    listed = re.search(r"Ids in order: ([\d,]+)", table).group(1)
    assert ssv2.SUBSET_41_IDS == tuple(int(i) for i in listed.split(","))
    rows = re.findall(r"^\| \d+ \| [^|]+ \| [^|]+ \| (\d+) \|", table, flags=re.M)
    assert tuple(int(r) for r in rows) == ssv2.SUBSET_41_IDS and len(set(rows)) == 41
    assert "reconstruction" in ssv2.SUBSET_41.note
    groups = re.findall(r"^\| \d+ \| ([^|]+?) \| [^|]+ \| (\d+) \|", table, flags=re.M)
    for group, ssv2_id in groups:
        assert ssv2.activity_group(int(ssv2_id)) == group.replace(" (GUESS)", "")
    assert sorted(i for ids in ssv2.ACTIVITY_GROUPS.values() for i in ids) == sorted(ssv2.SUBSET_41_IDS)
    assert ssv2.activity_group(0) is None


def test_json_readers_and_errors(tmp_path):
    fake.make_fake_ssv2(tmp_path)
    labels = ssv2.read_labels(tmp_path / ssv2.LABELS_FILE)
    assert labels["Holding something"] == 16 and len(labels) == 4
    pairs = ssv2.read_split(tmp_path / ssv2.SPLIT_FILES["validation"], labels)
    assert pairs == [("201", 149), ("202", 16), ("203", 47)]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": "1", "template": "Holding [something]"}, {"id": "2"}]))
    with pytest.raises(ValueError, match=r"bad.json: entry 1 has no 'template'"):
        ssv2.read_split(bad, labels)
    bad.write_text(json.dumps([{"id": "1", "template": "Juggling [something]"}]))
    with pytest.raises(ValueError, match="'Juggling something', which is not in the labels"):
        ssv2.read_split(bad, labels)
    bad.write_text(json.dumps({"Holding something": "sixteen"}))
    with pytest.raises(ValueError, match="'sixteen'"):
        ssv2.read_labels(bad)
    with pytest.raises(FileNotFoundError, match="(?s)absent.json.*licence-gated"):
        ssv2.read_labels(tmp_path / "absent.json")


def test_make_config():
    assert ssv2.make_config("subset41").name == "subset41"
    assert ssv2.make_config("all").class_ids == tuple(range(174))
    custom = ssv2.make_config(SUBSET, frame_size=(16, 24))
    assert custom.class_ids == (16, 149, 47) and custom.name.startswith("custom_")
    assert custom.name.endswith("_16x24") and custom.frame_size == (16, 24)
    with pytest.raises(ValueError, match="class 400 .* 0..173"):
        ssv2.make_config([16, 400])
    with pytest.raises(ValueError, match="duplicates"):
        ssv2.make_config([16, 16])


def test_resample_indices_and_context():
    np.testing.assert_array_equal(ssv2.resample_indices(6, 4), [0, 1, 3, 4])
    np.testing.assert_array_equal(ssv2.resample_indices(3, 6), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(ssv2.resample_indices(40, 40), np.arange(40))
    assert ssv2.context_frames(0.25, 40) == 10 and ssv2.context_frames(0.5, 40) == 20
    with pytest.raises(ValueError, match="observed_fraction"):
        ssv2.context_frames(1.0, 40)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("ssv2")
    manual = fake.make_fake_ssv2(root / "manual")
    config = ssv2.make_config(SUBSET, frame_size=(16, 16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ssv2.builder(root / "tfds", config=config, manual_dir=manual)
    return root, config, [str(w.message) for w in caught]


def test_builder_keeps_the_subset_and_saves_the_mapping(prepared):
    root, config, messages = prepared
    summary = [m for m in messages if "skipped 2 file(s), kept 5" in m]
    assert len(summary) == 1 and "105.webm" in summary[0] and "203.webm" in summary[0]
    b = ssv2.builder(root / "tfds", config=config)
    assert ssv2.label_map(b) == [
        {"label": 0, "ssv2_id": 16, "template": "Holding something"},
        {"label": 1, "ssv2_id": 149, "template": "Tearing something into two pieces"},
        {"label": 2, "ssv2_id": 47, "template": "Picking something up"}]
    assert b.info.features["label"].names[1] == "Tearing something into two pieces"
    assert "user-chosen" in b.info.metadata["note"]
    stored = {e["video_id"].decode(): e for e in b.as_dataset(split="train").as_numpy_iterator()}
    assert sorted(stored) == ["101", "102", "104"]  # 103 is outside the subset, 105 is corrupt
    frames = stored["102"]["frames"]
    assert frames.shape == (36, 16, 16, 3) and stored["102"]["label"] == 1
    np.testing.assert_allclose(frames.reshape(36, -1).mean(axis=1), [60 + 4 * i for i in range(36)], atol=3)


def test_load_resamples_and_splits_observed_and_future(prepared):
    root, config, _ = prepared
    ds = ssv2.load(root / "tfds", "validation", observed_fraction=0.5, num_frames=20, future_frames=6,
                   config=config)
    examples = {int(label): clip for clip, label in ds.as_numpy_iterator()}
    assert sorted(examples) == [0, 1]
    clip = examples[1]  # video 201: 30 frames, levels 40 + 4 i
    assert clip.shape == (16, 16, 16, 3) and clip.dtype == np.float32
    expected = [(40 + 4 * (k * 30 // 20)) / 255.0 for k in range(16)]
    np.testing.assert_allclose(clip.reshape(16, -1).mean(axis=1), expected, atol=3 / 255)
    triples = list(clips.split_context(ds, ssv2.context_frames(0.5, 20)).take(1))
    context, future, label = triples[0]
    assert context.shape == (10, 16, 16, 3) and future.shape == (6, 16, 16, 3) and label.dtype == tf.int32


def test_load_shuffle_is_seeded(prepared):
    root, config, _ = prepared
    order = lambda seed: [int(l) for _, l in ssv2.load(root / "tfds", "train", seed=seed,  # noqa: E731
                                                        num_frames=8, future_frames=2, config=config)]
    assert order(1) == order(1)
    assert sorted(order(1)) == [0, 1, 2]


def test_load_errors(prepared, tmp_path):
    root, config, _ = prepared
    with pytest.raises(ValueError, match="test split has no labels"):
        ssv2.load(root / "tfds", "test", config=config)
    with pytest.raises(ValueError, match="future_frames"):
        ssv2.load(root / "tfds", "train", observed_fraction=0.5, num_frames=20, future_frames=11,
                  config=config)
    with pytest.raises(FileNotFoundError, match="(?s)not prepared.*licence-gated"):
        ssv2.load(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="something-something-v2-labels.json"):
        ssv2.load(tmp_path / "tfds", "train", manual_dir=tmp_path, config=config)


def test_split_without_usable_video_is_an_error(tmp_path):
    manual = fake.make_fake_ssv2(tmp_path / "manual")
    config = ssv2.make_config([47], frame_size=(8, 8))  # validation: only 203, which has no file
    with pytest.raises(Exception, match="no usable 'validation' video"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ssv2.builder(tmp_path / "tfds", config=config, manual_dir=manual)
