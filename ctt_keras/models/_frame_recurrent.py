"""What the paper's two networks share (private base): a stack of recurrent cells unrolled over frames.

`VideoPredictor` and `EarlyActivityRecognizer` both run blocks of recurrent
cells (any cell of the registry `ctt_keras.layers.register_cell`; Conv-TT-LSTM
and ConvLSTM built in) with optional skips, feed their own predictions back
after a context (closed loop), and train under scheduled sampling through a
non-trainable `sampling_ratio` variable. This module holds that machinery; the
subclasses add what surrounds the stack (`step`) and their objective. Nothing
here depends on a particular cell: states are whatever each cell's
`get_initial_state` returns, labelled by its `state_roles`. What users pass in is checked
by `ctt_keras.models._inputs`.
"""

import math

import keras
import numpy as np
from keras import ops

from ctt_keras import devices
from ctt_keras.layers import _common, registry
from ctt_keras.models import _inputs
from ctt_keras.models._inputs import check_frame_shape  # noqa: F401  (re-exported for the networks)

#: The built-in cells (the registry may hold more: `ctt_keras.layers.cell_names()`).
CELL_TYPES = ("convttlstm", "convlstm")
#: The role of the state that equals a cell's latest output.
OUTPUT_ROLE = "h"
# The longest closed-loop rollout `predict_frames` runs (the paper predicts up to 40 frames). Each frame is
# one unrolled step kept in memory; raise `FrameRecurrentModel.max_future_frames` to go further.
MAX_FUTURE_FRAMES = 10_000


class FrameRecurrentModel(keras.Model):
    """Base of the networks: cells in blocks with skips, closed-loop rollout, scheduled sampling.

    Subclasses call `super().__init__` (which validates the architecture and
    creates `self.cells`), create their own layers, then call
    `self._finish_init()`; they implement `step(frame, states, training)` ->
    `(next_frame_prediction, new_states)` using `run_stack`.

    Args (keyword only):
        frame_shape: `(height, width, channels)` of the frames.
        stack_input_shape: `(height, width, channels)` of what the first cell reads.
        cell, cell_options, layers_per_block, hidden_channels, skip_stride, kernel_size, order, steps, rank:
            the recurrent stack (see `VideoPredictor`).
        context_frames: Frames read before predicting.
        seed: Seed of the scheduled-sampling coins.
        remat: Recompute each step in the backward pass (`keras.remat`).
    """

    def __init__(
        self,
        *,
        frame_shape,
        stack_input_shape,
        cell,
        layers_per_block,
        hidden_channels,
        skip_stride,
        kernel_size,
        order,
        steps,
        rank,
        context_frames,
        seed,
        remat,
        cell_options=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.frame_shape = check_frame_shape(frame_shape)
        self.stack_input_shape = tuple(int(d) for d in stack_input_shape)
        if isinstance(cell, type):
            cell = registry.name_of(cell)
        cell_class = registry.get_cell(cell)
        self.cell_type = cell
        if cell_options is None:
            cell_options = {}
        if not isinstance(cell_options, dict) or not all(isinstance(k, str) for k in cell_options):
            raise ValueError(
                f"`cell_options` must be a dict of cell arguments, got cell_options={cell_options!r}."
            )
        reserved = sorted({"filters", "kernel_size", "name", "dtype"} & set(cell_options))
        if reserved:
            raise ValueError(
                f"`cell_options` must not set {reserved}: the network sets them (use hidden_channels and "
                f"kernel_size), got cell_options={cell_options!r}."
            )
        self.cell_options = dict(cell_options)
        self.layers_per_block = _inputs._int_tuple("layers_per_block", layers_per_block)
        self.hidden_channels = _inputs._int_tuple("hidden_channels", hidden_channels)
        if not self.layers_per_block or any(n < 1 for n in self.layers_per_block):
            raise ValueError(
                f"`layers_per_block` must be a non-empty sequence of positive ints, got {layers_per_block!r}."
            )
        if len(self.hidden_channels) != len(self.layers_per_block):
            raise ValueError(
                f"`hidden_channels` needs one value per block ({len(self.layers_per_block)} blocks), "
                f"got hidden_channels={hidden_channels!r}."
            )
        for c in self.hidden_channels:
            _common.check_positive_int("hidden_channels", c)
        if skip_stride is not None:
            skip_stride = _common.check_positive_int("skip_stride", skip_stride)
            if skip_stride >= len(self.layers_per_block):
                raise ValueError(
                    f"`skip_stride={skip_stride}` joins block b to block b - {skip_stride}, but the network "
                    f"has {len(self.layers_per_block)} blocks (layers_per_block={self.layers_per_block!r}): "
                    f"no skip would exist. Use a skip_stride below {len(self.layers_per_block)}, or None."
                )
        self.skip_stride = skip_stride
        self.kernel_size = _common.check_kernel_size(kernel_size)
        self.order, self.steps, self.rank = (_inputs._plain_int(n, v) for n, v in (("order", order), ("steps", steps),
                                                                             ("rank", rank)))
        self.context_frames = _common.check_positive_int("context_frames", context_frames)
        self.seed = seed
        self.remat = bool(remat)

        # The network arguments the cell reads (the Conv-TT-LSTM's order, steps, rank), then its own options.
        shared = {"order": order, "steps": steps, "rank": rank}
        options = {key: shared[key] for key in registry.network_arguments(cell) if key in shared}
        options.update(self.cell_options)
        self.cells = []
        for b, (num_layers, channels) in enumerate(zip(self.layers_per_block, self.hidden_channels)):
            for l in range(num_layers):
                self.cells.append(
                    cell_class(
                        channels, self.kernel_size, name=f"b{b}l{l}", dtype=self.dtype_policy, **options
                    )
                )

    def _finish_init(self):
        """Adds the training state (after the subclass's layers, so weight order stays stable) and builds."""
        self.sampling_ratio = self.add_weight(
            name="sampling_ratio", shape=(), initializer="ones", trainable=False, dtype="float32", autocast=False
        )
        self.sampling_seed = keras.random.SeedGenerator(self.seed, name="sampling_seed")
        self.build((None, None) + self.frame_shape)

    @property
    def stage_channels(self):
        """Input channels of each block's first cell, then of what follows the stack."""
        channels = [self.stack_input_shape[-1]]
        outputs = []
        for b, c in enumerate(self.hidden_channels):
            outputs.append(c)
            if self.skip_stride is not None and b >= self.skip_stride:
                channels.append(c + outputs[b - self.skip_stride])
            else:
                channels.append(c)
        return channels

    def _build_cells(self):
        height, width, _ = self.stack_input_shape
        index = 0
        for b, num_layers in enumerate(self.layers_per_block):
            in_channels = self.stage_channels[b]
            for _ in range(num_layers):
                cell = self.cells[index]
                if not cell.built:
                    cell.build((None, height, width, in_channels))
                in_channels = cell.filters
                index += 1

    def count_params(self):
        """Number of network parameters (the scheduled-sampling ratio is training state, not counted)."""
        return sum(int(ops.size(w)) for w in self.weights if w is not self.sampling_ratio)

    # -- the recurrent stack ----------------------------------------------------------------------

    def initial_states(self, batch_size):
        """Zero states of every cell, a list (one state list per cell, in `cells` order)."""
        return [list(cell.get_initial_state(batch_size=batch_size)) for cell in self.cells]

    def state_layout(self):
        """`[(cell, roles)]`: every cell with the role of each of its states, in state order.

        The cells declare their roles (`state_roles`); export, streaming and
        rematerialisation use this layout and nothing cell-specific.
        """
        layout = []
        for cell, states in zip(self.cells, self.initial_states(1)):
            roles = tuple(cell.state_roles)
            if len(roles) != len(states):
                raise ValueError(
                    f"cell {cell.name} ({type(cell).__name__}) declares {len(roles)} state roles {roles} "
                    f"but its get_initial_state returns {len(states)} states."
                )
            layout.append((cell, roles))
        return layout

    def output_state(self, cell_index, states):
        """The state of cell `cell_index` with role `"h"` (its latest output), from per-cell `states`."""
        cell = self.cells[cell_index]
        roles = tuple(cell.state_roles)
        if OUTPUT_ROLE not in roles:
            raise ValueError(
                f"cell {cell.name} ({type(cell).__name__}) declares no {OUTPUT_ROLE!r} state role "
                f"(its latest output), got state_roles={roles}."
            )
        return states[cell_index][roles.index(OUTPUT_ROLE)]

    def run_stack(self, x, states, training=None):
        """One step of every cell with the skips; returns `(last_stage_features, new_states)`.

        The features are the last block's output, concatenated with the output of
        block `-1 - skip_stride` when a skip ends there (as the head reads them).
        """
        new_states = []
        finished_blocks = []
        index = 0
        for b, num_layers in enumerate(self.layers_per_block):
            for _ in range(num_layers):
                x, cell_states = self.cells[index](x, states[index], training=training)
                new_states.append(list(cell_states))
                index += 1
            finished_blocks.append(x)
            if self.skip_stride is not None and b >= self.skip_stride:
                x = ops.concatenate([x, finished_blocks[b - self.skip_stride]], axis=-1)
        return x, new_states

    def step(self, frame, states, training=None):
        """One recurrent step: reads `frame`, returns `(prediction_of_next_frame, new_states)`."""
        raise NotImplementedError

    def rollout(self, frames, context_frames, total_steps, sampling_ratio=None, training=None, return_states=False):
        """Runs `total_steps` recurrent steps from zero states; returns all outputs `[B, total_steps, ...]`.

        Step `t` reads `frames[:, t]` while `t < context_frames`; afterwards its own
        previous output, or (when `sampling_ratio` is given and `frames` has the step)
        per sample the true frame with probability `sampling_ratio`. With
        `return_states`, returns `(outputs, final_states)`.
        """
        frames = ops.convert_to_tensor(frames)
        batch_size = ops.shape(frames)[0]
        coins = None
        if sampling_ratio is not None and total_steps > context_frames:
            # All coins drawn up front: one per sample and step after the context.
            coins = keras.random.uniform(
                (total_steps - context_frames, batch_size, 1, 1, 1), seed=self.sampling_seed
            )
        states = self.initial_states(batch_size)
        step = self._rematerialised_step if (self.remat and training) else self.step
        self._draw_dropout_masks(frames[:, 0], states, training)
        outputs = []
        for t in range(total_steps):
            if t < context_frames:
                x = frames[:, t]
            elif coins is None:
                x = outputs[-1]
            else:
                truth = ops.cast(frames[:, t], outputs[-1].dtype)
                x = ops.where(coins[t - context_frames] < sampling_ratio, truth, outputs[-1])
            y, states = step(x, states, training=training)
            outputs.append(y)
        self._clear_dropout_masks()
        outputs = ops.stack(outputs, axis=1)
        return (outputs, states) if return_states else outputs

    def _dropout_cells(self):
        """The cells with dropout that follow Keras's mask protocol (`get_dropout_mask`, ...)."""
        return [
            c
            for c in self.cells
            if hasattr(c, "get_dropout_mask")
            and (getattr(c, "dropout", 0) or getattr(c, "recurrent_dropout", 0))
        ]

    def _draw_dropout_masks(self, frame, states, training):
        """Draws each dropping cell's masks once per rollout, before the loop (as `keras.layers.RNN` does).

        Drawn outside the steps, the masks are plain inputs of every step, also of rematerialised ones.
        """
        if not training:
            return
        batch_size = ops.shape(frame)[0]
        dropping = {id(c) for c in self._dropout_cells()}
        for index, cell in enumerate(self.cells):
            if id(cell) in dropping:
                shape = (batch_size,) + tuple(cell.spatial_dims) + (cell.input_channels,)
                cell.get_dropout_mask(ops.zeros(shape, dtype=cell.compute_dtype))
                cell.get_recurrent_dropout_mask(self.output_state(index, states))

    def _clear_dropout_masks(self):
        for cell in self._dropout_cells():
            cell.reset_dropout_mask()
            cell.reset_recurrent_dropout_mask()

    def flatten_states(self, states):
        """The per-cell state lists as one flat list (cells in order, each cell's states in order)."""
        return [s for cell_states in states for s in cell_states]

    def unflatten_states(self, flat_states):
        """Inverse of `flatten_states`."""
        nested, offset = [], 0
        for cell in self.cells:
            size = len(cell.state_roles)
            nested.append(list(flat_states[offset : offset + size]))
            offset += size
        return nested

    def _rematerialised_step(self, frame, states, training=None):
        """`step`, with its activations recomputed in the backward pass."""

        def flat_step(x, *flat_states):
            y, new_states = self.step(x, self.unflatten_states(flat_states), training=training)
            return (y, *self.flatten_states(new_states))

        y, *flat = keras.remat(flat_step)(frame, *self.flatten_states(states))
        return y, self.unflatten_states(flat)

    # -- public prediction API ------------------------------------------------------------------

    max_future_frames = MAX_FUTURE_FRAMES

    def predict_frames(self, context, future_frames, return_all_steps=False):
        """Closed-loop prediction of `future_frames` frames after `context`.

        Args:
            context: `[batch, context_frames, height, width, channels]`, floats in [0, 1] or
                uint8 pixels (divided by 255). NumPy and eager inputs are checked: NaN/inf
                or values outside [0, 1] raise a `ValueError` (see docs/reliability.md).
            future_frames: Number of frames to predict, at most `max_future_frames`
                (10,000), and small enough for the outputs to fit in memory.
            return_all_steps: Also return every step's output (the first
                `context_frames - 1` are one-step predictions of the context).

        Returns:
            `[batch, future_frames, height, width, channels]` float32,
            or all `context_frames + future_frames - 1` outputs if `return_all_steps`.
        """
        future_frames = _common.check_positive_int("future_frames", future_frames)
        context = self._check_clip(_inputs._checked_frames(context, "context"), "context")
        num_context = context.shape[1]
        self._check_horizon(context, num_context + future_frames - 1, future_frames)
        outputs = self.rollout(context, num_context, num_context + future_frames - 1, training=False)
        return outputs if return_all_steps else outputs[:, -future_frames:]

    def one_step_predictions(self, clip):
        """Predictions of frames 1..T-1 under full teacher forcing, `[batch, T - 1, H, W, C]`.

        `clip` is checked and converted as `predict_frames`'s `context` is.
        """
        clip = self._check_clip(_inputs._checked_frames(clip, "clip"), "clip", min_frames=2)
        steps = clip.shape[1] - 1
        return self.rollout(clip[:, :-1], steps, steps)

    def _clip_rollout(self, clip, training):
        """The rollout of `call`: `(outputs, final_states)`.

        Training: the `T - 1` one-step predictions of the clip under scheduled
        sampling. Otherwise: the closed-loop predictions of frames
        `context_frames..T-1` from the first `context_frames`.
        """
        clip = self._check_clip(clip, "clip", min_frames=2)
        num_frames = clip.shape[1]
        if training:
            steps = num_frames - 1
            return self.rollout(
                clip[:, :-1], min(self.context_frames, steps), steps, sampling_ratio=self.sampling_ratio,
                training=True, return_states=True,
            )
        if num_frames <= self.context_frames:
            raise ValueError(
                f"clip has {num_frames} frames but context_frames={self.context_frames}: an evaluation clip "
                f"needs context plus at least one future frame."
            )
        outputs, states = self.rollout(clip, self.context_frames, num_frames - 1, training=False, return_states=True)
        return outputs[:, self.context_frames - 1 :], states

    # -- training integration -------------------------------------------------------------------

    def _targets(self, x, y, y_pred):
        """The loss targets of a batch (datasets of clips carry no separate frame targets)."""
        raise NotImplementedError

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        y = _inputs._clip_target(x, y, y_pred)
        return super().compute_loss(
            x=x, y=self._targets(x, y, y_pred), y_pred=y_pred, sample_weight=sample_weight, training=training
        )

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, self._targets(x, _inputs._clip_target(x, y, y_pred), y_pred), y_pred,
                                       sample_weight)

    # NumPy (and eager) inputs are checked once here, not per step in the compiled functions.
    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """`keras.Model.fit`; NumPy clips are checked and converted as in `predict_frames`.

        `y` may be omitted (the targets are the clip's own frames), or be a clip with as many
        frames as `x` (its frames the model predicts are the targets), or those frames alone.
        """
        x = _inputs._checked_frames(x, "x")
        y = self._frame_target(x, _inputs._checked_target(y, "y"), training=True)
        if isinstance(validation_data, (tuple, list)) and validation_data:
            val_x = _inputs._checked_frames(validation_data[0], "validation_data[0]")
            val_y = [self._frame_target(val_x, _inputs._checked_target(v, "validation_data[1]"), training=False)
                     for v in validation_data[1:2]]
            validation_data = (val_x, *val_y, *validation_data[2:])
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`; NumPy clips are checked and converted as in `predict_frames`."""
        x = _inputs._checked_frames(x, "x")
        return super().evaluate(x, self._frame_target(x, _inputs._checked_target(y, "y"), training=False), *args,
                                **kwargs)

    def _frame_target(self, x, y, training):
        """Checks a NumPy frame target now (a ValueError saying what to pass); returns `y` unchanged.

        The slicing itself happens in `compute_loss`, per use: a clip target serves both the training
        steps and the evaluation of `validation_split`/`validation_data`.
        """
        x_values, y_values = _inputs._concrete(x), _inputs._concrete(y)
        if x_values is None or y_values is None or x_values.ndim != 5 or y_values.ndim != 5:
            return y
        frames = x_values.shape[1]
        predicted = frames - 1 if training else frames - self.context_frames
        _inputs._clip_target(x_values, y_values, np.empty((0, predicted)))
        return y

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`; NumPy clips are checked and converted as in `predict_frames`."""
        return super().predict(_inputs._checked_frames(x, "x"), *args, **kwargs)

    def load_weights(self, filepath, *args, **kwargs):
        """`keras.Model.load_weights`, refusing a file whose weights hold NaN or infinite values."""
        super().load_weights(filepath, *args, **kwargs)
        bad = []
        for weight in self.weights:
            values = np.asarray(ops.convert_to_numpy(weight))
            count = values.size - int(np.count_nonzero(np.isfinite(values)))
            if count:
                bad.append(f"{weight.path} ({count} of {values.size})")
        if bad:
            raise ValueError(f"{filepath}: non-finite (NaN or inf) weights in {', '.join(bad)}; the model "
                             "would predict NaN. Load another checkpoint (e.g. the best before divergence).")

    def _compile_with_defaults(self, jit_compile, **kwargs):
        # "auto": XLA on accelerators only (on CPU it makes the recurrent loop far slower).
        if jit_compile == "auto":
            jit_compile = devices.default_jit_compile()
        super().compile(jit_compile=jit_compile, **kwargs)

    def compile_from_config(self, config):
        """Re-compiles a loaded model with its saved optimizer, loss and metrics."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    # -- validation and serialisation -----------------------------------------------------------

    def _check_horizon(self, context, steps, future_frames):
        """Refuses rollouts longer than `max_future_frames`, or whose outputs cannot fit in memory."""
        if future_frames > self.max_future_frames:
            raise ValueError(
                f"`future_frames={future_frames}` exceeds the limit of {self.max_future_frames} frames of "
                "one closed-loop rollout; predict in pieces or raise `model.max_future_frames`."
            )
        batch = context.shape[0]
        if batch is None:
            return
        estimate = batch * steps * math.prod(self.frame_shape) * 4  # float32 outputs, kept until stacked
        available = _inputs._physical_memory()
        if available and 2 * estimate > available:
            raise ValueError(
                f"`future_frames={future_frames}` for a batch of {batch} needs about "
                f"{estimate / 2**30:.1f} GiB for the outputs alone (twice that while stacking), more than "
                f"this machine's {available / 2**30:.1f} GiB; predict fewer frames or a smaller batch."
            )

    def _check_clip(self, clip, name, min_frames=1):
        clip = ops.convert_to_tensor(clip)
        shape = tuple(clip.shape)
        if len(shape) != 5:
            raise ValueError(f"`{name}` must be 5-D [batch, time, height, width, channels], got shape {shape}.")
        if shape[1] is None or shape[1] < min_frames:
            raise ValueError(f"`{name}` needs a static time axis of at least {min_frames} frames, got shape {shape}.")
        if tuple(shape[2:]) != self.frame_shape:
            raise ValueError(
                f"`{name}` frames have shape {tuple(shape[2:])} but the model was built for frame_shape="
                f"{self.frame_shape} (input shape {shape})."
            )
        return clip

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "frame_shape": self.frame_shape,
                "cell": self.cell_type,
                "layers_per_block": self.layers_per_block,
                "hidden_channels": self.hidden_channels,
                "skip_stride": self.skip_stride,
                "kernel_size": self.kernel_size,
                "order": self.order,
                "steps": self.steps,
                "rank": self.rank,
                "context_frames": self.context_frames,
                "seed": self.seed,
                "remat": self.remat,
            }
        )
        if self.cell_options:
            # Only when set: the configs of the built-in presets (and every config written before cells
            # took options) stay byte for byte what they were; absent means {}.
            config["cell_options"] = dict(self.cell_options)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("trainable", None)
        return cls(**config)
