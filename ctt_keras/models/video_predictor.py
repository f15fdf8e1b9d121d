"""The video-prediction network of the Conv-TT-LSTM paper (Su et al., NeurIPS 2020)."""

import keras
from keras import ops

from ctt_keras.layers import _common
from ctt_keras.losses import L1L2Loss
from ctt_keras.models._frame_recurrent import CELL_TYPES, FrameRecurrentModel, check_frame_shape
from ctt_keras.zoo.preset_mixin import PresetMixin

__all__ = ["CELL_TYPES", "VideoPredictor"]


@keras.saving.register_keras_serializable(package="ctt_keras")
class VideoPredictor(PresetMixin, FrameRecurrentModel):
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
        cell: The recurrent cell: a name of the cell registry
            (`"convttlstm"`, `"convlstm"`, or one added with
            `ctt_keras.layers.register_cell`), or a registered cell class.
        layers_per_block: Cells per block, e.g. `(3, 3, 3, 3)`.
        hidden_channels: Channels of the cells of each block, e.g. `(32, 48, 48, 32)`.
        skip_stride: Skip distance in blocks, or `None` for no skips.
        kernel_size: Odd kernel size of every recurrent convolution.
        order, steps, rank: Conv-TT-LSTM options (passed to the cells that
            registered them as network arguments; ignored by ConvLSTM).
        cell_options: Other keyword arguments of every cell, a dict (e.g.
            `{"recurrent_dropout": 0.1}` or a custom cell's options); they
            win over `order`, `steps`, `rank`. Saved in the config.
        output_sigmoid: Apply a sigmoid to the head's output.
        context_frames: Frames read before predicting, in `fit`/`evaluate`/`predict`.
        patch_size: Side of the square patches folded into channels before the
            recurrent stack (space-to-depth: a `(64, 64, 1)` frame becomes
            `(16, 16, 16)` with `patch_size=4`) and unfolded after the head
            (depth-to-space), as PredRNN and OpenSTL do for Moving-MNIST. The
            cells then run on a `patch_size**2` times smaller grid, which makes
            a step about that much cheaper for the same channels. `1` (the
            default) is the paper's network, unchanged. Frame height and width
            must be multiples of it.
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
        patch_size=1,
        cell_options=None,
        **kwargs,
    ):
        frame_shape = check_frame_shape(frame_shape)
        self.patch_size = _common.check_positive_int("patch_size", patch_size)
        height, width, channels = frame_shape
        if height % patch_size or width % patch_size:
            raise ValueError(
                f"`patch_size` must divide the frame height and width, got patch_size={patch_size} for "
                f"frame_shape={frame_shape}."
            )
        stack_input_shape = (height // patch_size, width // patch_size, channels * patch_size**2)
        super().__init__(
            frame_shape=frame_shape, stack_input_shape=stack_input_shape, cell=cell,
            cell_options=cell_options, layers_per_block=layers_per_block, hidden_channels=hidden_channels,
            skip_stride=skip_stride, kernel_size=kernel_size, order=order, steps=steps, rank=rank,
            context_frames=context_frames, seed=seed, remat=remat, **kwargs,
        )
        self.output_sigmoid = bool(output_sigmoid)
        self.head = keras.layers.Conv2D(
            self.stack_input_shape[-1],
            1,
            kernel_initializer=keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform"),
            bias_initializer=_common._FanInUniform(self.stage_channels[-1]),
            name="output",
            dtype=self.dtype_policy,
        )
        self._finish_init()

    def build(self, input_shape=None):
        self._build_cells()
        height, width, _ = self.stack_input_shape
        if not self.head.built:
            self.head.build((None, height, width, self.stage_channels[-1]))
        self.built = True

    def multiply_accumulates_per_step(self):
        """Multiply-accumulates of one recurrent step of the whole network for one sample."""
        height, width, channels = self.stack_input_shape
        head = height * width * self.stage_channels[-1] * channels
        return sum(cell.multiply_accumulates() for cell in self.cells) + head

    def step(self, frame, states, training=None):
        """One recurrent step: reads `frame`, returns `(prediction_of_next_frame, new_states)`."""
        x, new_states = self.run_stack(self._fold_patches(frame), states, training=training)
        y = self.head(x)
        if self.output_sigmoid:
            y = ops.sigmoid(y)
        return ops.cast(self._unfold_patches(y), "float32"), new_states

    def _fold_patches(self, frame):
        """Space-to-depth: `[B, H, W, C]` -> `[B, H/p, W/p, p*p*C]`, channel index `(dy*p + dx)*C + c`."""
        p = self.patch_size
        if p == 1:
            return frame
        height, width, channels = self.frame_shape
        x = ops.reshape(frame, (-1, height // p, p, width // p, p, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, height // p, width // p, p * p * channels))

    def _unfold_patches(self, features):
        """Depth-to-space, the inverse of `_fold_patches`."""
        p = self.patch_size
        if p == 1:
            return features
        height, width, channels = self.frame_shape
        x = ops.reshape(features, (-1, height // p, width // p, p, p, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, height, width, channels))

    def call(self, clip, training=False):
        return self._clip_rollout(clip, training)[0]

    # -- export ---------------------------------------------------------------------------------

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               context_frames=None, future_frames=None, overwrite=False, **kwargs):
        """Exports the model for inference with its serving signatures (TensorFlow backend).

        Every format carries `serving_default` (`frames` `[batch,
        context_frames, H, W, C]` -> `predictions` `[batch, future_frames, H, W,
        C]`, the closed loop of `predict_frames`), and, where the format holds
        several entry points, `step` (one recurrent step with explicit
        states, for streaming) and `initial_state`; see docs/serving.md.

        Args:
            filepath: `"tf_saved_model"`: the SavedModel folder (for TF
                Serving's layout use `ctt_keras.export.export_saved_model`);
                `"onnx"`: the `.onnx` file of one signature;
                `"litert"`: the `.tflite` file (all three signatures).
            format: `"tf_saved_model"`, `"onnx"` or `"litert"`.
            verbose: Unused (accepted for `keras.Model.export`).
            input_signature: If given, Keras's own export of `call` over that
                signature (which must have a static time axis) instead.
            context_frames: Frames read by `serving_default` (default: the
                model's `context_frames`).
            future_frames: Frames it predicts (default: as many as the context).
            overwrite: Replace an existing export at `filepath`.
            **kwargs: `"onnx"`: `signature` (`"serving_default"`, `"step"` or
                `"initial_state"`) and `opset`; `"litert"`: converter
                attributes.

        Returns:
            The path written.

        Example:

        >>> model.export("predictor")                        # SavedModel, 10 -> 10 frames
        >>> model.export("predictor.onnx", format="onnx", future_frames=20)
        >>> model.export("predictor.tflite", format="litert")
        """
        if input_signature is not None:
            return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature,
                                  **kwargs)
        from ctt_keras import export as exporting  # TensorFlow only: imported when used

        return exporting.export_model(self, filepath, format=format, context_frames=context_frames,
                                      future_frames=future_frames, overwrite=overwrite, **kwargs)

    @property
    def _default_save_signature(self):
        # What `tf.saved_model.save(model, path)` serves (TensorFlow backend): `serving_default`,
        # context_frames frames -> as many predicted frames. Keras's default would trace `call` over a
        # clip of unknown length.
        from ctt_keras.export import _signatures

        return _signatures.tf_function(self, "serving_default", self.context_frames, self.context_frames)

    # -- training integration -------------------------------------------------------------------

    def compile(self, optimizer="adam", loss=None, jit_compile="auto", **kwargs):
        """`keras.Model.compile` with the paper's defaults.

        `loss=None` means `L1L2Loss()` (mean L1 + mean L2). `jit_compile="auto"`
        means XLA on accelerators only (on CPU it makes the recurrent loop far slower).
        """
        if loss is None:
            loss = L1L2Loss()
        self._compile_with_defaults(jit_compile, optimizer=optimizer, loss=loss, **kwargs)

    def _targets(self, x, y, y_pred):
        # Datasets of bare clips: the targets are the clip's last frames, as many as predictions.
        if y is not None:
            return y
        return x[:, -y_pred.shape[1] :]

    def get_config(self):
        config = super().get_config()
        config["output_sigmoid"] = self.output_sigmoid
        config["patch_size"] = self.patch_size
        return config
