"""A network's architecture as the model itself defines it: its keys, its values from flags, its checks.

The keys are the model class's constructor arguments (its `get_config`) except those a run sets from its
data and task (`RUN_ARGUMENTS`); a flag of the same name sets each (`--model` sets `cell`), parsed by the
type of the constructor's default. Validation is the model's own: `build` constructs it, and a `ValueError`
it raises is reported with the flags that set the arguments it names (`flag_message`). Nothing here lists a
network's keys or repeats its checks, so a new constructor argument needs no change here.
"""

import inspect
import re

from ctt_keras.models import EarlyActivityRecognizer, VideoPredictor

# Constructor arguments set by the run (its data, task and memory options), not by the architecture.
RUN_ARGUMENTS = ("frame_shape", "context_frames", "future_frames", "seed", "remat", "num_classes")
# The network a dataset's task trains (`pipelines.datasets.TASKS`).
TASK_MODELS = {"prediction": VideoPredictor, "recognition": EarlyActivityRecognizer}
# Flags whose name differs from the argument they set.
_FLAG_NAMES = {"cell": "model"}


def architecture_keys(model_class):
    """The architecture arguments of `model_class`'s constructor, in their order."""
    parameters = inspect.signature(model_class.__init__).parameters.values()
    return tuple(p.name for p in parameters if p.name != "self" and p.name not in RUN_ARGUMENTS
                 and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def flag_of(key):
    """The flag that sets architecture argument `key` (`"hidden_channels"` -> `"--hidden-channels"`)."""
    return "--" + _FLAG_NAMES.get(key, key).replace("_", "-")


def architecture_of(model):
    """The architecture part of `model.get_config()` (plus `num_classes` for a recognizer).

    A key a stored config lacks (a preset saved before the argument existed) takes the constructor default.
    """
    config = model.get_config()
    defaults = _defaults(type(model))
    keys = architecture_keys(type(model))
    if "num_classes" in defaults:
        keys += ("num_classes",)
    return {key: config.get(key, defaults[key]) for key in keys}


def model_for_task(task):
    """The network class that trains on a dataset of `task` ("prediction" or "recognition")."""
    if task not in TASK_MODELS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASK_MODELS)}")
    return TASK_MODELS[task]


def from_flags(model_class, flags):
    """Constructor arguments of `model_class` from a run's flags (flags it lacks keep the model's defaults).

    Comma-separated strings become int tuples where the default is a sequence (`"none"`: empty), `"none"`
    becomes None where the default is an int; values are otherwise passed as they are, for the model to check.

    Raises:
        ValueError: naming the flag, if a value cannot be parsed.
    """
    defaults = _defaults(model_class)
    architecture = {}
    for key in architecture_keys(model_class):
        name = _FLAG_NAMES.get(key, key)
        if name in flags:
            architecture[key] = _parse(flag_of(key), flags[name], defaults[key])
    return architecture


def foreign_flags(model_class, explicit, defaults):
    """Architecture flags given in `explicit` (with a value other than `defaults`') that `model_class` lacks.

    Every network's keys are architecture flags; the ones the chosen network has no argument for do not apply.
    """
    own = {_FLAG_NAMES.get(k, k) for k in architecture_keys(model_class)}
    everyone = {_FLAG_NAMES.get(k, k) for cls in TASK_MODELS.values() for k in architecture_keys(cls)}
    return [flag_of(name) for name in sorted(everyone - own)
            if name in explicit and explicit[name] != defaults.get(name)]


def flag_message(message, keys, replacements=None):
    """A model's error message with the arguments it names (`` `kernel_size` ``) written as their flags.

    Args:
        message: The model's message.
        keys: Argument names to rewrite (`architecture_keys` plus any run argument set by a flag).
        replacements: Extra `{text: flag text}` rewrites, e.g. the frame shape a `--image-size` made.
    """
    for text, flag in (replacements or {}).items():
        message = message.replace(text, flag)
    return re.sub(r"`(\w+)`", lambda m: flag_of(m.group(1)) if m.group(1) in keys else m.group(0), message)


def _defaults(model_class):
    parameters = inspect.signature(model_class.__init__).parameters
    return {name: p.default for name, p in parameters.items() if p.default is not p.empty}


def _parse(flag, value, default):
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if isinstance(default, (tuple, list)):
        if text in ("none", ""):
            return ()
        try:
            return tuple(int(v) for v in text.split(","))
        except ValueError:
            raise ValueError(f"{flag} must be comma-separated ints, got {value!r}") from None
    if default is None or (isinstance(default, int) and not isinstance(default, bool)):
        if text == "none":
            return None
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"{flag} must be a positive int or none, got {value!r}")
        return int(text)
    return value
