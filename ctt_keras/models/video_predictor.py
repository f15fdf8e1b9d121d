"""The video-prediction network of the Conv-TT-LSTM paper (SPEC §3)."""

import keras
from keras import ops

from ctt_keras import devices
from ctt_keras.layers import ConvLSTMCell, ConvTTLSTMCell
from ctt_keras.layers import _common
from ctt_keras.losses import L1L2Loss

CELL_TYPES = ("convttlstm", "convlstm")


@keras.saving.register_keras_serializable(package="ctt_keras")
class VideoPredictor(keras.Model):
    """The paper's video-prediction network: stacked recurrent cells with skips and a 1x1 head.

    Blocks of recurrent cells run at full frame resolution. The first cell of
    block 0 reads the frame, every other cell the previous cell's output; with
    `skip_stride=s`, after block `b >= s` the next stage reads
    `[out_b ; out_{b-s}]` (current first). A 1x1 convolution (with bias, then a
    sigmoid iff `output_sigmoid`) maps the last stage to a frame. Each call
    starts from zero states.

    `fit` trains with the official objective (mean L1 + mean L2 over the
    `T - 1` one-step predictions of a clip) under scheduled sampling: after the
    `context_frames`, each sample at each step reads the true frame with
    probability `sampling_ratio` (a non-trainable variable that callbacks
    change; 1.0 = teacher forcing) and its own previous prediction otherwise.
    `evaluate` and `predict` run the closed-loop rollout: the first
    `context_frames` of each clip are read, the rest predicted.

    Args:
        frame_shape: `(height, width, channels)` of the frames.
        cell: `"convttlstm"` or `"convlstm"`.
        layers_per_block: Cells per block, e.g. `(3, 3, 3, 3)`.
        hidden_channels: Channels of the cells of each block, e.g. `(32, 48, 48, 32)`.
        skip_stride: Skip distance in blocks, or `None` for no skips.
        kernel_size: Odd kernel size of every recurrent convolution.
        order, steps, rank: Conv-TT-LSTM options (ignored for ConvLSTM).
        output_sigmoid: Apply a sigmoid to the head's output.
        context_frames: Frames read before predicting, in `fit`/`evaluate`/`predict`.
        seed: Seed of the scheduled-sampling coins.
        remat: Recompute each recurrent step in the backward pass instead of
            keeping its activations (`keras.remat`): training memory falls to
            about the recurrent states (KTH 128x128 at batch 2: 12.1 GB -> see
            docs/performance.md) for about one more forward pass of time.
        **kwargs: `keras.Model` arguments (`name`, `dtype`).

    Call arguments:
        clip: `[batch, time, height, width, channels]`, frames in [0, 1].
        training: If true, the `time - 1` one-step predictions under scheduled
            sampling (frames 1..T-1); else the closed-loop predictions of frames
            `context_frames..T-1` from the first `context_frames`.

    Input shape:
        `[batch, time, height, width, channels]`.

    Output shape:
        `[batch, time - 1, ...]` when training, `[batch, time - context_frames, ...]`
        otherwise; float32 (also under mixed precision).

    Example:

    >>> model = VideoPredictor((64, 64, 1))          # the paper's Moving-MNIST network
    >>> model.count_params()
    2687281
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))  # loss: L1 + L2
    >>> model.fit(clips_dataset, epochs=1)             # clips [B, 20, 64, 64, 1]
    >>> future = model.predict_frames(context, future_frames=10)
    """

    def __init__(
        self,
        frame_shape,
        cell="convttlstm",
        layers_per_block=(3, 3, 3, 3),
        hidden_channels=(32, 48, 48, 32),
        skip_stride=2,
        kernel_size=5,
        order=3,
        steps=3,
        rank=8,
        output_sigmoid=False,
        context_frames=10,
        seed=None,
        remat=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.frame_shape = _check_frame_shape(frame_shape)
        if cell not in CELL_TYPES:
            raise ValueError(f"`cell` must be one of {CELL_TYPES}, got cell={cell!r}.")
        self.cell_type = cell
        self.layers_per_block = tuple(int(n) for n in layers_per_block)
        self.hidden_channels = tuple(int(c) for c in hidden_channels)
        if not self.layers_per_block or any(n < 1 for n in self.layers_per_block):
            raise ValueError(
                f"`layers_per_block` must be a non-empty sequence of positive ints, got {layers_per_block!r}."
            )
        if len(self.hidden_channels) != len(self.layers_per_block):
            raise ValueError(
                f"`hidden_channels` needs one entry per block ({len(self.layers_per_block)} blocks), "
                f"got hidden_channels={hidden_channels!r}."
            )
        for c in self.hidden_channels:
            _common.check_positive_int("hidden_channels", c)
        if skip_stride is not None:
            _common.check_positive_int("skip_stride", skip_stride)
        self.skip_stride = skip_stride
        self.kernel_size = _common.check_kernel_size(kernel_size)
        self.order, self.steps, self.rank = order, steps, rank
        self.output_sigmoid = bool(output_sigmoid)
        self.context_frames = _common.check_positive_int("context_frames", context_frames)
        self.seed = seed
        self.remat = bool(remat)

        self.cells = []
        for b, (num_layers, channels) in enumerate(zip(self.layers_per_block, self.hidden_channels)):
            for l in range(num_layers):
                name = f"b{b}l{l}"
                if cell == "convttlstm":
                    self.cells.append(
                        ConvTTLSTMCell(
                            channels, self.kernel_size, order=order, steps=steps, rank=rank, name=name,
                            dtype=self.dtype_policy,
                        )
                    )
                else:
                    self.cells.append(ConvLSTMCell(channels, self.kernel_size, name=name, dtype=self.dtype_policy))
        self.head = keras.layers.Conv2D(
            self.frame_shape[-1],
            1,
            kernel_initializer=keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform"),
            bias_initializer=_common._FanInUniform(self.stage_channels[-1]),
            name="output",
            dtype=self.dtype_policy,
        )
        self.sampling_ratio = self.add_weight(
            name="sampling_ratio", shape=(), initializer="ones", trainable=False, dtype="float32", autocast=False
        )
        self.sampling_seed = keras.random.SeedGenerator(seed, name="sampling_seed")
        self.build((None, None) + self.frame_shape)

    @property
    def stage_channels(self):
        """Input channels of each block's first cell, then of the head."""
        channels = [self.frame_shape[-1]]
        outputs = []
        for b, c in enumerate(self.hidden_channels):
            outputs.append(c)
            if self.skip_stride is not None and b >= self.skip_stride:
                channels.append(c + outputs[b - self.skip_stride])
            else:
                channels.append(c)
        return channels

    def build(self, input_shape=None):
        height, width, _ = self.frame_shape
        index = 0
        for b, num_layers in enumerate(self.layers_per_block):
            in_channels = self.stage_channels[b]
            for _ in range(num_layers):
                cell = self.cells[index]
                if not cell.built:
                    cell.build((None, height, width, in_channels))
                in_channels = cell.filters
                index += 1
        if not self.head.built:
            self.head.build((None, height, width, self.stage_channels[-1]))
        self.built = True

    def count_params(self):
        """Number of network parameters (the scheduled-sampling ratio is training state, not counted)."""
        return sum(int(ops.size(w)) for w in self.weights if w is not self.sampling_ratio)

    def multiply_accumulates_per_step(self):
        """Multiply-accumulates of one recurrent step of the whole network for one sample."""
        height, width, channels = self.frame_shape
        head = height * width * self.stage_channels[-1] * channels
        return sum(cell.multiply_accumulates() for cell in self.cells) + head

    # -- one recurrent step over the whole stack -------------------------------------------------

    def initial_states(self, batch_size):
        """Zero states of every cell, a list (one state list per cell, in `cells` order)."""
        return [list(cell.get_initial_state(batch_size=batch_size)) for cell in self.cells]

    def step(self, frame, states, training=None):
        """One recurrent step: reads `frame`, returns `(prediction_of_next_frame, new_states)`."""
        x = frame
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
        y = self.head(x)
        if self.output_sigmoid:
            y = ops.sigmoid(y)
        return ops.cast(y, "float32"), new_states

    def rollout(self, frames, context_frames, total_steps, sampling_ratio=None, training=None):
        """Runs `total_steps` recurrent steps from zero states; returns all outputs `[B, total_steps, ...]`.

        Step `t` reads `frames[:, t]` while `t < context_frames`; afterwards its own
        previous output, or (when `sampling_ratio` is given and `frames` has the step)
        per sample the true frame with probability `sampling_ratio`.
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
        return ops.stack(outputs, axis=1)

    def flatten_states(self, states):
        """The per-cell state lists as one flat list (cells in order, each cell's states in order)."""
        return [s for cell_states in states for s in cell_states]

    def unflatten_states(self, flat_states):
        """Inverse of `flatten_states`."""
        nested, offset = [], 0
        for cell in self.cells:
            size = len(cell.state_size)
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

    def predict_frames(self, context, future_frames, return_all_steps=False):
        """Closed-loop prediction of `future_frames` frames after `context`.

        Args:
            context: `[batch, context_frames, height, width, channels]` in [0, 1].
            future_frames: Number of frames to predict.
            return_all_steps: Also return every step's output (the first
                `context_frames - 1` are one-step predictions of the context).

        Returns:
            `[batch, future_frames, height, width, channels]` float32 (unclamped),
            or all `context_frames + future_frames - 1` outputs if `return_all_steps`.
        """
        context = self._check_clip(context, "context")
        future_frames = _common.check_positive_int("future_frames", future_frames)
        num_context = context.shape[1]
        outputs = self.rollout(context, num_context, num_context + future_frames - 1, training=False)
        return outputs if return_all_steps else outputs[:, -future_frames:]

    def one_step_predictions(self, clip):
        """Predictions of frames 1..T-1 under full teacher forcing, `[batch, T - 1, H, W, C]`."""
        clip = self._check_clip(clip, "clip", min_frames=2)
        steps = clip.shape[1] - 1
        return self.rollout(clip[:, :-1], steps, steps)

    def call(self, clip, training=False):
        clip = self._check_clip(clip, "clip", min_frames=2)
        num_frames = clip.shape[1]
        if training:
            steps = num_frames - 1
            return self.rollout(
                clip[:, :-1], min(self.context_frames, steps), steps, sampling_ratio=self.sampling_ratio, training=True
            )
        if num_frames <= self.context_frames:
            raise ValueError(
                f"clip has {num_frames} frames but context_frames={self.context_frames}: an evaluation clip "
                f"needs context plus at least one future frame."
            )
        outputs = self.rollout(clip, self.context_frames, num_frames - 1, training=False)
        return outputs[:, self.context_frames - 1 :]

    # -- training integration -------------------------------------------------------------------

    def compile(self, optimizer="adam", loss=None, jit_compile="auto", **kwargs):
        """`keras.Model.compile` with the paper's defaults.

        `loss=None` means `L1L2Loss()` (mean L1 + mean L2). `jit_compile="auto"`
        means XLA on accelerators only (on CPU it makes the recurrent loop far slower).
        """
        if loss is None:
            loss = L1L2Loss()
        if jit_compile == "auto":
            jit_compile = devices.default_jit_compile()
        super().compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile, **kwargs)

    def compile_from_config(self, config):
        """Re-compiles a loaded model with its saved optimizer, loss and metrics."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def _targets(self, x, y, y_pred):
        # Datasets of bare clips: the targets are the clip's last frames, as many as predictions.
        if y is not None:
            return y
        return x[:, -y_pred.shape[1] :]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return super().compute_loss(
            x=x, y=self._targets(x, y, y_pred), y_pred=y_pred, sample_weight=sample_weight, training=training
        )

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, self._targets(x, y, y_pred), y_pred, sample_weight)

    # -- validation and serialisation -----------------------------------------------------------

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
                "output_sigmoid": self.output_sigmoid,
                "context_frames": self.context_frames,
                "seed": self.seed,
                "remat": self.remat,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("trainable",):
            config.pop(key, None)
        return cls(**config)


def _check_frame_shape(frame_shape):
    try:
        shape = tuple(int(d) for d in frame_shape)
    except (TypeError, ValueError):
        raise ValueError(f"`frame_shape` must be (height, width, channels), got {frame_shape!r}.") from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"`frame_shape` must be three positive ints (height, width, channels), got {frame_shape!r}.")
    return shape
