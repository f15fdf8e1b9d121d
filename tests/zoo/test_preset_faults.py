"""Each write of `save_preset` fails in turn (full disk, kill): the folder holds the old preset or the new.

A fault injector (`tests/faults.py`) counts every write `save_preset` makes (files opened for writing and
each of their writes, fsyncs, renames, folders made, HDF5 weights) and makes the k-th one fail, for every
k: with `OSError(ENOSPC)` after half its data (the writer's clean-up runs), or as a kill (nothing more
reaches the disk, not even the clean-up). Afterwards the folder, as `zoo.load_preset_dir` /
`from_preset` read it, must be the old preset byte for byte (or no preset when there was none) or the
new one, never a mixture; a failure may not pass silently; what is left over carries a recognisable
name; and the next save must write the new preset exactly, keeping the user's other files.
"""

import errno
import os
import shutil

import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.models import VideoPredictor
from ctt_keras.zoo import preset_format
from tests import faults as faults_lib

CONTEXT = np.random.default_rng(0).random((1, 2, 8, 8, 1), dtype=np.float32)
LEFTOVERS = (preset_format.STAGING_FOLDER, preset_format.COMMIT_FOLDER)


def _model(name, hidden):
    model = VideoPredictor((8, 8, 1), layers_per_block=(1,), hidden_channels=(hidden,), skip_stride=None,
                           kernel_size=3, rank=2, order=2, steps=2, context_frames=2, name=name)
    model.predict_frames(CONTEXT, 1)
    return model


@pytest.fixture(scope="module")
def models():
    # Different architectures: a mixture of the two presets could not even load.
    return _model("old", 2), _model("new", 3)


@pytest.fixture
def inject(monkeypatch):
    return faults_lib.Injector(monkeypatch)


def _visible(files):
    """The files a reader sees: leftovers of an interrupted save (recognisable by name) left out."""
    return {k: v for k, v in files.items() if k.split(os.sep)[0] not in LEFTOVERS}


def _start(folder, old, model):
    """The folder before the save: nothing, or the old preset beside a file of the user's."""
    if old:
        zoo.save_preset(model, folder, metadata={"dataset": "old"})
        (folder / "notes.txt").write_text("the user's own file")
    return folder


def _save(model, folder):
    return zoo.save_preset(model, folder, metadata={"dataset": "new"}, overwrite=True)


def _predictions(folder):
    return zoo.load_preset_dir(folder).predict_frames(CONTEXT, 2).numpy()


@pytest.mark.parametrize("old", [False, True], ids=["new-folder", "over-a-preset"])
@pytest.mark.parametrize("kill", [False, True], ids=["full-disk", "kill"])
def test_each_failing_write_leaves_the_old_preset_or_the_new(models, tmp_path, inject, old, kill):
    old_model, new_model = models
    start = _start(tmp_path / "start", old, old_model)
    before = faults_lib.files_under(start)
    reference = tmp_path / "reference"
    if old:
        shutil.copytree(start, reference)
    counted = inject.use(faults_lib.Faults(reference))
    _save(new_model, reference)
    inject.off()
    after = faults_lib.files_under(reference)
    assert {"config.json", "metadata.json", "README.md", "model.weights.h5"} <= set(after)
    assert not set(after) - set(before) - {"config.json", "metadata.json", "README.md", "model.weights.h5"}
    kinds = {kind for kind, _ in counted.events}
    assert {"weights", "write", "fsync", "rename"} <= kinds, counted.events
    new_predictions = new_model.predict_frames(CONTEXT, 2).numpy()
    old_predictions = old_model.predict_frames(CONTEXT, 2).numpy()
    np.testing.assert_array_equal(_predictions(reference), new_predictions)

    outcomes = []
    for fail_at in range(1, len(counted.events) + 1):
        folder = tmp_path / f"fail-{fail_at}"
        if old:
            shutil.copytree(start, folder)
        faults = inject.use(faults_lib.Faults(folder, fail_at=fail_at, kill=kill))
        event = counted.events[fail_at - 1]
        try:
            _save(new_model, folder)
        except faults_lib.Killed:
            assert kill, event
            failed = True
        except OSError as error:
            assert not kill and error.errno == errno.ENOSPC, (event, error)
            failed = True
        else:
            failed = False
        assert faults.events[fail_at - 1] == event, "the save did not repeat its writes"
        inject.off()

        on_disk = faults_lib.files_under(folder)
        leftovers = sorted({k.split(os.sep)[0] for k in set(on_disk) - set(_visible(on_disk))})
        if not kill and preset_format.COMMIT_FOLDER not in leftovers:
            assert not leftovers, (event, leftovers)  # a full disk: the save cleans up after itself
        assert not [k for k in _visible(on_disk) if k.endswith((".tmp", ".partial"))], (event, on_disk)
        # A reader finishes a committed save first, then sees one complete preset (or none).
        zoo.read_metadata(folder)
        visible = _visible(faults_lib.files_under(folder))
        assert not (folder / preset_format.COMMIT_FOLDER).exists()
        if visible == after:
            outcome = "new"
        else:
            assert visible == before, (event, sorted(visible), sorted(before))
            assert failed, f"the save failed at {event} without saying so"
            outcome = "old" if old else "none"
        if outcome not in outcomes:  # the same bytes load the same way: each outcome is loaded once
            if outcome == "none":
                with pytest.raises(FileNotFoundError, match="config.json"):
                    zoo.load_preset_dir(folder)
                with pytest.raises(FileNotFoundError, match="config.json"):
                    VideoPredictor.from_preset(folder)
            else:
                np.testing.assert_array_equal(
                    _predictions(folder), new_predictions if outcome == "new" else old_predictions)
                assert zoo.read_metadata(folder)["dataset"] == outcome
        outcomes.append(outcome)

        # The disk has room again (or the process was restarted): the next save writes the new preset.
        _save(new_model, folder)
        assert faults_lib.files_under(folder) == after, event
        shutil.rmtree(folder)
    # Both outcomes happen: failures before the commit keep the old state, those after it give the new.
    commit = counted.events.index(("rename", preset_format.COMMIT_FOLDER))
    assert "new" not in [o for o, (kind, _) in zip(outcomes[:commit + 1], counted.events) if kind != "fsync"]
    assert set(outcomes[commit + 1:]) == {"new"}, outcomes


def test_a_commit_interrupted_by_a_kill_is_finished_by_every_reader(models, tmp_path, inject):
    old_model, new_model = models
    folder = tmp_path / "preset"
    zoo.save_preset(old_model, folder)
    counted = inject.use(faults_lib.Faults(folder))
    _save(new_model, folder)
    inject.off()
    commit = [i for i, (kind, path) in enumerate(counted.events)
              if kind == "rename" and path == preset_format.COMMIT_FOLDER][0]
    expected = new_model.predict_frames(CONTEXT, 2).numpy()
    # Killed right after the commit: the files are still in .preset.commit/, the old ones in place.
    readers = (zoo.load_preset_dir, VideoPredictor.from_preset, lambda f: zoo.load(str(f)),
               lambda f: zoo.load(zoo.register("interrupted", f, overwrite=True)))
    for read in readers:
        shutil.rmtree(folder)
        zoo.save_preset(old_model, folder)
        inject.use(faults_lib.Faults(folder, fail_at=commit + 2, kill=True))
        with pytest.raises(faults_lib.Killed):
            _save(new_model, folder)
        inject.off()
        assert (folder / preset_format.COMMIT_FOLDER).is_dir()
        np.testing.assert_array_equal(read(folder).predict_frames(CONTEXT, 2).numpy(), expected)
        assert sorted(os.listdir(folder)) == ["README.md", "config.json", "metadata.json", "model.weights.h5"]


def test_an_unfinishable_commit_is_named(models, tmp_path):
    old_model, _ = models
    folder = tmp_path / "preset"
    zoo.save_preset(old_model, folder)
    (folder / preset_format.COMMIT_FOLDER).mkdir()
    (folder / preset_format.COMMIT_FOLDER / "config.json").mkdir()  # cannot replace the file config.json
    with pytest.raises(OSError, match=r"interrupted after its commit \(\.preset\.commit/\)"):
        zoo.load_preset_dir(folder)
