"""The run's backup (`RunBackup`, a `keras.callbacks.BackupAndRestore` committed atomically) and its recovery.

`--resume` continues from this backup: `recover_backup` finishes or discards a commit that a crash
interrupted and says which epoch the run resumes at (docs/reliability.md).
"""

import json
import os

import keras

from ctt_keras import atomic

_WEIGHTS = "latest.weights.h5"
_METADATA = "training_metadata.json"
_PENDING_WEIGHTS = "pending.weights.h5"
_PENDING_METADATA = "training_metadata.json.pending"


def recover_backup(backup_dir):
    """Finishes or discards a backup commit that a crash interrupted; returns the epoch it resumes at.

    A commit writes `pending.weights.h5`, then `training_metadata.json.pending` (epoch and weights
    checksum), then renames both over `latest.weights.h5` and `training_metadata.json`. A complete
    pending pair is rolled forward; a pending weights file without its metadata is incomplete and removed.
    Backups written by plain `keras.callbacks.BackupAndRestore` (no checksum) are read as they are.

    Returns:
        The number of finished epochs the backup holds (0 when there is none).

    Raises:
        ValueError: if `latest.weights.h5` does not match the checksum its metadata recorded.
    """
    weights, metadata = os.path.join(backup_dir, _WEIGHTS), os.path.join(backup_dir, _METADATA)
    pending_weights = os.path.join(backup_dir, _PENDING_WEIGHTS)
    pending_metadata = os.path.join(backup_dir, _PENDING_METADATA)
    pending = _read_metadata(pending_metadata, missing_ok=True, corrupt_ok=True)
    if pending is not None:
        if os.path.isfile(pending_weights) and atomic.sha256_of(pending_weights) == pending.get("weights_sha256"):
            os.replace(pending_weights, weights)
        if os.path.isfile(weights) and atomic.sha256_of(weights) == pending.get("weights_sha256"):
            os.replace(pending_metadata, metadata)
    for stale in (pending_weights, pending_metadata, pending_metadata + ".tmp"):
        if os.path.exists(stale):
            os.remove(stale)
    state = _read_metadata(metadata, missing_ok=True)
    if state is None:
        return 0
    expected = state.get("weights_sha256")
    if expected is not None and (not os.path.isfile(weights) or atomic.sha256_of(weights) != expected):
        raise ValueError(
            f"{weights} does not match the checksum recorded in {metadata} (changed or damaged after "
            f"the backup of epoch {state.get('epoch')}); cannot resume from it."
        )
    return int(state.get("epoch", 0))


def _read_metadata(path, missing_ok=False, corrupt_ok=False):
    if missing_ok and not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            state = json.load(f)
        if not isinstance(state, dict) or not isinstance(state.get("epoch", 0), int):
            raise ValueError("expected an object with an integer 'epoch'")
    except ValueError as error:
        if corrupt_ok:
            return None
        raise ValueError(f"{path} is damaged ({error}); cannot resume from this backup.") from None
    return state


@keras.saving.register_keras_serializable(package="ctt_keras")
class RunBackup(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose every backup is committed atomically.

    Keras writes `latest.weights.h5` in place and then `training_metadata.json`: a crash or a full
    disk in between leaves weights and epoch that disagree (or a truncated weights file). This
    callback keeps the same files and format (a plain `BackupAndRestore` can read them, and it
    reads theirs) but writes the weights and the metadata (with the weights' SHA-256) under pending
    names first and renames them into place; `recover_backup` completes or discards an interrupted
    commit before restoring. Put it last among the callbacks: its commit is the end of an epoch.

    Args:
        backup_dir: Folder of the backup (used by no other callback).
        save_freq: `"epoch"` or a number of batches, as in `BackupAndRestore`.
        delete_checkpoint: Delete the backup when `fit` ends.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=False):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)

    def on_train_begin(self, logs=None):
        recover_backup(self.backup_dir)
        # Keras keeps the epoch an earlier `fit` restored; without a backup this `fit` must start at its own.
        if hasattr(self.model, "_initial_epoch"):
            self.model._initial_epoch = None
        super().on_train_begin(logs)

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        pending_weights = os.path.join(self.backup_dir, _PENDING_WEIGHTS)
        pending_metadata = os.path.join(self.backup_dir, _PENDING_METADATA)
        try:
            self.model.save_weights(pending_weights, overwrite=True)
            metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen,
                        "weights_sha256": atomic.sha256_of(pending_weights)}
            atomic.write_atomic(pending_metadata, json.dumps(metadata))
        except BaseException:
            for path in (pending_weights, pending_metadata):
                if os.path.exists(path):
                    os.remove(path)
            raise
        os.replace(pending_weights, os.path.join(self.backup_dir, _WEIGHTS))
        os.replace(pending_metadata, os.path.join(self.backup_dir, _METADATA))
        atomic.sync_folder(self.backup_dir)

    def get_config(self):
        return {"backup_dir": self.backup_dir, "save_freq": self.save_freq,
                "delete_checkpoint": self.delete_checkpoint}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
