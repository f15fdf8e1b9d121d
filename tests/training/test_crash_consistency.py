"""Each write of a training run fails in turn (full disk); `--resume` then ends where an unbroken run does.

The run uses `training.training_callbacks`, the callbacks `tools/train.py` uses. A fault injector
(`tests/faults.py`) counts the run's writes (each write to a file, renames, weight files) and makes the
k-th one fail with `OSError(ENOSPC)`, after writing half its data (a truncated file is left behind, as on
a full disk).
The run is then resumed from what is on disk, with every variable of the model scrambled first, and
must end bit-identical to the uninterrupted run: weights, optimizer, random-generator and schedule
state, best/last checkpoints, and a history with each epoch once.
"""

import csv
import errno
import json
import os
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from ctt_keras import training
from ctt_keras.training import callbacks as callbacks_lib
from tests import faults as faults_lib
from tests.training import tiny

STEPS, BATCH, EPOCHS = 2, 2, 3


# The events of the original sweep: a file's writes, renames and weight files (fsyncs and folders are
# counted by tests/faults.py too, but each extra event costs a training run here).
KINDS = ("write", "rename", "weights")


@pytest.fixture
def inject(monkeypatch):
    """`inject(folder, fail_at)` counts (and fails) the run's writes under `folder`; returns the `Faults`."""
    injector = faults_lib.Injector(monkeypatch)

    def use(folder, fail_at=None, kill=False):
        return injector.use(faults_lib.Faults(folder, fail_at=fail_at, kill=kill, kinds=KINDS))

    yield use
    injector.off()


@pytest.fixture(scope="module")
def model():
    """One compiled tiny model reused by every scenario (its state is reset or scrambled between runs)."""
    keras.utils.set_random_seed(0)
    m = tiny.model(seed=0)
    m.optimizer.build(m.trainable_variables)
    return m


def _variables(m):
    own = {id(v) for v in m.variables}
    return list(m.variables) + [v for v in m.optimizer.variables if id(v) not in own]


def _snapshot(m):
    return [np.array(v.numpy()) for v in _variables(m)]


def _assign(m, values):
    for variable, value in zip(_variables(m), values):
        variable.assign(value)


def _scramble(m, seed):
    rng = np.random.default_rng(seed)
    for variable in _variables(m):
        value = variable.numpy()
        variable.assign(rng.integers(1, 1000, value.shape).astype(value.dtype) if value.dtype.kind in "iu"
                        else rng.random(value.shape).astype(value.dtype))


def _run(m, folder, initial_epoch=0):
    # As tools/train.py: a run folder is one with a config.json (else the run starts afresh beside it).
    resume = (folder / "run" / "config.json").is_file()
    run = training.RunDirectory.create(str(folder), "run", resume=resume)
    if not resume:
        run.write_config({"flags": {"epochs": EPOCHS}})
    clips = tiny.clips(12, frames=4)
    data = tf.data.Dataset.from_tensor_slices(clips).repeat().skip(initial_epoch * STEPS * BATCH).batch(BATCH)
    validation = tf.data.Dataset.from_tensor_slices(tiny.clips(4, frames=4, seed=1)).batch(BATCH)
    schedule = training.make_schedule("paper", "paper", state_path=run.schedule_state, patience=1,
                                      sampling_decay=0.3, lr_decay=0.5, lr_decay_every=1, min_delta=10)
    callbacks, _ = training.training_callbacks(run, schedule, context_frames=2, monitor="val_loss")
    m.fit(data, epochs=EPOCHS, steps_per_epoch=STEPS, validation_data=validation, callbacks=callbacks,
          verbose=0)
    return run


def _history(run):
    with open(run.history, newline="") as f:
        return [(int(row["epoch"]), row["loss"], row["val_loss"]) for row in csv.DictReader(f)]


def _checkpoint(m, path):
    saved = _snapshot(m)
    m.load_weights(path)
    weights = [np.array(w) for w in m.get_weights()]
    _assign(m, saved)
    return weights


def _outcome(m, run):
    # Random-generator states are not weights: what counts is their saved history (used by a later resume;
    # a resume that has no epoch left to run never reads it), and the weights they shaped.
    variables = [np.array(v.numpy()) for v in _variables(m) if not v.path.endswith("seed_generator_state")]
    states = {name: json.load(open(path)) for name, path in
              (("seed", run.seed_state), ("schedule", run.schedule_state), ("best", run.best_state))}
    return {"variables": variables, "history": _history(run), "states": states,
            "best": _checkpoint(m, run.best_weights), "last": _checkpoint(m, run.last_weights)}


def _assert_same(got, expected):
    assert got["history"] == expected["history"]
    assert got["states"] == expected["states"]
    for key in ("variables", "best", "last"):
        assert len(got[key]) == len(expected[key])
        for a, b in zip(got[key], expected[key]):
            np.testing.assert_array_equal(a, b, err_msg=key)


def _reference(m, tmp_path, inject):
    start = _snapshot(m)
    faults = inject(tmp_path / "reference")
    run = _run(m, tmp_path / "reference")
    reference = _outcome(m, run)
    return start, faults.events, reference


def _epoch_of_events(events):
    """The epoch each write belongs to (an epoch ends with the rename of the backup's metadata)."""
    epochs, epoch = [], 0
    for kind, path in events:
        epochs.append(epoch)
        epoch += kind == "rename" and path.endswith("training_metadata.json")
    return epochs


# The middle epoch by default (a committed epoch before it, one after it); the first (run creation, no
# backup yet) and the last (a resume with nothing left to run) in the slow suite.
@pytest.mark.parametrize("epoch", [pytest.param(0, marks=pytest.mark.slow), 1,
                                   pytest.param(2, marks=pytest.mark.slow)])
def test_each_failing_write_leaves_a_run_that_resumes_exactly(model, tmp_path, inject, epoch):
    start, events, reference = _reference(model, tmp_path, inject)
    epochs = _epoch_of_events(events)
    assert epochs[-1] == EPOCHS - 1
    # Every kind of file is written in each epoch (the best weights when the loss improved), so each
    # failure point matters.
    kinds = {path.split(os.sep)[-1] for (_, path), e in zip(events, epochs) if e == epoch}
    assert {"schedule_state.json", "seed_state.json", "history.csv", "best_state.json", "last.weights.h5",
            "latest.weights.h5", "training_metadata.json"} <= kinds
    assert "best.weights.h5" in kinds or epoch > 0
    for fail_at in [i + 1 for i, e in enumerate(epochs) if e == epoch]:
        folder = tmp_path / f"fail-{fail_at}"
        _assign(model, start)
        inject(folder, fail_at)
        with pytest.raises(OSError, match="No space left") as error:
            _run(model, folder)
        assert error.value.errno == errno.ENOSPC
        inject(folder)  # the disk has room again
        initial_epoch = training.backup_epoch(training.RunDirectory(folder / "run").backup)
        if initial_epoch:
            _scramble(model, fail_at)  # everything must come back from the disk
        else:
            _assign(model, start)  # nothing committed: the run starts again from its seeded weights
        run = _run(model, folder, initial_epoch=initial_epoch)
        try:
            _assert_same(_outcome(model, run), reference)
        except AssertionError as failure:
            raise AssertionError(f"write {fail_at} ({events[fail_at - 1]}) failed: {failure}") from None
        leftovers = [n for n in os.listdir(run.backup) + os.listdir(run.path) + os.listdir(run.checkpoints)
                     if "pending" in n or n.endswith(".tmp")]
        assert not leftovers, (fail_at, leftovers)


def test_a_kill_between_the_backup_renames_is_rolled_forward(model, tmp_path, inject):
    # The commit's two renames: weights in place, metadata not yet. Resume must see the new epoch.
    start, events, reference = _reference(model, tmp_path, inject)
    _assign(model, start)
    folder = tmp_path / "kill"
    commits = [i for i, (kind, path) in enumerate(events, 1)
               if kind == "rename" and path == os.path.join("run", "backup", "training_metadata.json")]
    inject(folder, commits[1], kill=True)  # the process dies at the second epoch's metadata rename
    with pytest.raises(faults_lib.Killed):
        _run(model, folder)
    inject(folder)
    backup = training.RunDirectory(folder / "run").backup
    assert sorted(os.listdir(backup)) == ["latest.weights.h5", "training_metadata.json",
                                         "training_metadata.json.pending"]
    assert training.backup_epoch(backup) == 2 and sorted(os.listdir(backup)) == [
        "latest.weights.h5", "training_metadata.json"]
    _scramble(model, 7)
    run = _run(model, folder, initial_epoch=2)
    _assert_same(_outcome(model, run), reference)


def test_backup_damaged_after_the_fact_is_refused_by_name(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    m = tiny.model()
    m.fit(tiny.clips(4), epochs=1, batch_size=2, verbose=0, callbacks=[callbacks_lib.RunBackup(str(backup))])
    assert training.backup_epoch(str(backup)) == 1
    with open(backup / "latest.weights.h5", "r+b") as f:
        f.seek(100)
        f.write(b"\0" * 8)
    with pytest.raises(ValueError, match=r"latest\.weights\.h5 does not match the checksum .* epoch 1"):
        training.backup_epoch(str(backup))
    (backup / "training_metadata.json").write_text('{"epo')
    with pytest.raises(ValueError, match=r"training_metadata\.json is damaged"):
        training.backup_epoch(str(backup))


def test_keras_backups_are_still_read(tmp_path):
    # Runs started before RunBackup existed hold plain BackupAndRestore files (no checksum).
    m = tiny.model()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=False)
    m.fit(tiny.clips(4), epochs=2, batch_size=2, verbose=0, callbacks=[backup])
    assert training.backup_epoch(str(tmp_path / "backup")) == 2
    resumed = tiny.model(seed=3)
    history = resumed.fit(tiny.clips(4), epochs=3, batch_size=2, verbose=0,
                          callbacks=[callbacks_lib.RunBackup(str(tmp_path / "backup"))])
    assert history.epoch == [2]


def test_best_checkpoint_keeps_the_best_of_the_whole_run_across_a_resume(tmp_path):
    # keras.callbacks.ModelCheckpoint forgets its best value on resume and overwrites the best weights.
    m = tiny.model()
    path, state = str(tmp_path / "best.weights.h5"), str(tmp_path / "best_state.json")
    first = callbacks_lib.WeightsCheckpoint(path, monitor="val_loss", state_path=state)
    first.set_model(m)
    for epoch, value in enumerate([0.5, 0.3]):
        first.on_epoch_begin(epoch)
        first.on_epoch_end(epoch, {"val_loss": value})
    saved = os.path.getmtime(path), open(path, "rb").read()
    resumed = callbacks_lib.WeightsCheckpoint(path, monitor="val_loss", state_path=state)
    resumed.set_model(m)
    resumed.on_epoch_begin(2)
    assert resumed.best == 0.3
    resumed.on_epoch_end(2, {"val_loss": 0.4})  # worse than the run's best: nothing written
    assert (os.path.getmtime(path), open(path, "rb").read()) == saved
    resumed.on_epoch_end(3, {"val_loss": float("nan")})
    assert open(path, "rb").read() == saved[1]


def test_history_drops_rows_of_uncommitted_epochs_and_half_lines(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\r\n0,0.5,1\r\n1,0.4,1\r\n2,0.3,1\r\n3,0.")
    history = callbacks_lib.EpochHistory(str(path))
    history.set_model(tiny.model())
    history.on_train_begin()
    history.on_epoch_begin(2)
    history.on_epoch_end(2, {"loss": 0.25, "val_loss": 2})
    history.on_train_end()
    assert path.read_bytes() == b"epoch,loss,val_loss\r\n0,0.5,1\r\n1,0.4,1\r\n2,0.25,2\r\n"
    path.write_text("epoch,lo")  # a header cut short: the file starts again
    history.on_train_begin()
    history.on_epoch_begin(0)
    history.on_epoch_end(0, {"loss": 0.5, "val_loss": 1})
    history.on_train_end()
    assert path.read_bytes() == b"epoch,loss,val_loss\r\n0,0.5,1\r\n"


def test_replaced_directory_leaves_the_old_folder_or_the_new_one(tmp_path, monkeypatch):
    preset = tmp_path / "preset"
    preset.mkdir()
    (preset / "config.json").write_text("old")
    with pytest.raises(OSError, match="No space left"):
        with training.replaced_directory(preset) as folder:
            (pathlib.Path(folder) / "config.json").write_text("ne")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert (preset / "config.json").read_text() == "old" and sorted(os.listdir(tmp_path)) == ["preset"]

    def replace(fail_at, kill):
        faults = injector.use(faults_lib.Faults(tmp_path, fail_at=fail_at, kill=kill, kinds=["rename"]))
        with training.replaced_directory(preset) as folder:
            (pathlib.Path(folder) / "config.json").write_text("new")
        injector.off()
        return faults

    injector = faults_lib.Injector(monkeypatch)
    # The second rename refused (not a kill): the old folder is put back.
    with pytest.raises(OSError, match="No space left"):
        replace(2, kill=False)
    injector.off()
    assert (preset / "config.json").read_text() == "old" and sorted(os.listdir(tmp_path)) == ["preset"]
    # A kill between the two renames: no `preset`, the old one beside it; the next write puts it back first.
    with pytest.raises(faults_lib.Killed):
        replace(2, kill=True)
    injector.off()
    assert not preset.exists() and (tmp_path / "preset.previous" / "config.json").read_text() == "old"
    training.recover_directory(preset)
    assert (preset / "config.json").read_text() == "old"
    assert [event for event in replace(None, False).events] == [
        ("rename", "preset.previous"), ("rename", "preset")]
    assert (preset / "config.json").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["preset"]


def test_write_atomic_keeps_the_old_file_on_a_full_disk(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    training.write_json(path, {"psnr": 20.0})

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        training.write_json(path, {"psnr": 30.0})
    assert json.loads(path.read_text()) == {"psnr": 20.0} and os.listdir(tmp_path) == ["metrics.json"]


@pytest.mark.parametrize("mode, saved", [("min", [0, 2]), ("max", [0, 1])])
def test_best_checkpoint_from_a_fresh_start(tmp_path, mode, saved):
    values = [0.5, 0.7, 0.2]
    m = tiny.model()
    path = str(tmp_path / "best.weights.h5")
    checkpoint = callbacks_lib.WeightsCheckpoint(path, monitor="val_loss", mode=mode)
    checkpoint.set_model(m)
    writes = []
    checkpoint._save = lambda: writes.append(epoch)
    for epoch, value in enumerate(values):
        checkpoint.on_epoch_begin(epoch)
        checkpoint.on_epoch_end(epoch, {"val_loss": value})
    assert writes == saved
