"""The run directory: one folder per training run holding its config, weights, logs and preset.

Layout (`RunDirectory` attributes name each path):
```
runs/<name>/
  config.json            resolved configuration of the run (every flag, the policy, the strategy)
  backup/                keras.callbacks.BackupAndRestore state (weights, optimizer, epoch)
  schedule_state.json    counters of the sampling/learning-rate schedule, per finished epoch
  seed_state.json        random-generator states (scheduled-sampling coins), per finished epoch
  checkpoints/best.weights.h5, checkpoints/last.weights.h5
  checkpoints/best_state.json   best monitored value per finished epoch (resume keeps the run's best)
  history.csv            epoch logs (losses, sampling_ratio, learning_rate)
  tensorboard/           TensorBoard logs (scalars, prediction strips and GIFs, per-frame curves)
  preset/                a preset folder that ctt_keras.zoo.load_preset_dir reads
  metrics.json, metrics.md, curves.png, prediction.gif   evaluation after training
```

Every file a crash could leave half-written is written beside its target and renamed into
place (`write_atomic`, `write_json`, `replaced_directory`, from `ctt_keras.atomic`), and an
epoch's files are written in an order (see `ctt_keras.training.training_callbacks`) whose last
step, the backup's commit, makes the epoch count: an interruption at any point leaves the state
of the last committed epoch, from which `--resume` continues.
"""

import json
import os
import re

# The atomic writers live in a module without TensorFlow (the zoo and the export use them too); the run
# folder's callers keep reaching them here.
from ctt_keras.atomic import (  # noqa: F401
    recover_directory,
    replaced_directory,
    sync_folder as _sync_folder,
    write_atomic,
    write_json,
)

CONFIG_FILE = "config.json"


class RunDirectory:
    """Paths of one run folder. Use `RunDirectory.create` to pick or check the folder."""

    def __init__(self, path):
        self.path = os.path.abspath(os.fspath(path))
        self.config = os.path.join(self.path, CONFIG_FILE)
        self.backup = os.path.join(self.path, "backup")
        self.schedule_state = os.path.join(self.path, "schedule_state.json")
        self.seed_state = os.path.join(self.path, "seed_state.json")
        self.checkpoints = os.path.join(self.path, "checkpoints")
        self.best_weights = os.path.join(self.checkpoints, "best.weights.h5")
        self.last_weights = os.path.join(self.checkpoints, "last.weights.h5")
        self.best_state = os.path.join(self.checkpoints, "best_state.json")
        self.history = os.path.join(self.path, "history.csv")
        self.tensorboard = os.path.join(self.path, "tensorboard")
        self.preset = os.path.join(self.path, "preset")
        self.metrics_json = os.path.join(self.path, "metrics.json")
        self.metrics_md = os.path.join(self.path, "metrics.md")
        self.curves_png = os.path.join(self.path, "curves.png")
        self.prediction_gif = os.path.join(self.path, "prediction.gif")

    def __repr__(self):
        return f"RunDirectory({self.path!r})"

    @classmethod
    def create(cls, logdir, name, resume=False):
        """Returns the run folder `logdir/name`, never clobbering an earlier run.

        Args:
            logdir: Parent folder of all runs.
            name: Run name (letters, digits, `._-`).
            resume: Continue the run in `logdir/name`, which must exist and hold
                a `config.json`. Without `resume`, an existing `logdir/name` is
                left alone and the next free `logdir/name-2`, `name-3`, ... is used
                (`RunDirectory.renamed_from` then says so).

        Returns:
            A `RunDirectory` whose folder exists.
        """
        if not name or not re.fullmatch(r"[A-Za-z0-9._-]+", name) or name in (".", ".."):
            raise ValueError(f"run name must be letters, digits, '.', '_' or '-', got {name!r}.")
        path = os.path.join(os.fspath(logdir), name)
        renamed_from = None
        if resume:
            if not os.path.isfile(os.path.join(path, CONFIG_FILE)):
                raise FileNotFoundError(
                    f"--resume: {path} is not a run folder (no {CONFIG_FILE}); pass the --logdir and --name "
                    "of the run to continue."
                )
        elif os.path.exists(path) and os.listdir(path):
            renamed_from = path
            number = 2
            while os.path.exists(f"{path}-{number}"):
                number += 1
            path = f"{path}-{number}"
        os.makedirs(path, exist_ok=True)
        run = cls(path)
        run.renamed_from = renamed_from
        os.makedirs(run.checkpoints, exist_ok=True)
        return run

    def write_config(self, config):
        """Writes the resolved config (a JSON-serialisable dict) to `config.json`."""
        write_json(self.config, config)

    def read_config(self):
        with open(self.config) as f:
            return json.load(f)

    def write_json(self, path, data):
        write_json(path, data)
