"""The early-activity-recognition network of the Conv-TT-LSTM paper (Something-Something V2 experiment)."""

import keras
from keras import ops

from ctt_keras.layers import _common
from ctt_keras.losses import L1L2Loss
from ctt_keras.models._frame_recurrent import FrameRecurrentModel, check_frame_shape
from ctt_keras.zoo.preset_mixin import PresetMixin

__all__ = ["EarlyActivityRecognizer", "FRAMES", "LOGITS"]

FRAMES = "frames"
LOGITS = "logits"
DEFAULT_PREDICTION_WEIGHT = 10.0


@keras.saving.register_keras_serializable(package="ctt_keras")
class EarlyActivityRecognizer(PresetMixin, FrameRecurrentModel):
    """Recognises an activity from the start of a video while predicting how the video goes on.

    The paper's early-activity-recognition network (its Something-Something V2
    experiment): a 2D-conv encoder, a stack of Conv-TT-LSTM (or ConvLSTM) cells
    on the encoded features, a 2D-conv decoder back to frames, and a classifier
    (2D convs and one fully-connected layer) on the last recurrent layer's output.
    The paper gives only that outline ("two-layer 2D-conv encoder and decoder,
    eight recurrent layers, classifier of two 2D-conv layers and one
    fully-connected layer"); every size here is this library's choice
    (docs/activity.md).

    Each step encodes a frame (stride-2 convs, ReLU), runs the cells
    (blocks with skips, as `VideoPredictor`) and decodes the last stage into a
    prediction of the next frame (stride-2 transposed convs). After the first
    `context_frames` frames, a step reads its own previous prediction (closed
    loop); in training, under scheduled sampling (`sampling_ratio`, as
    `VideoPredictor`). The classifier reads the last cell's output after the
    final step, i.e. once the network has imagined the future frames: a clip of
    `C + F` frames gives `C + F - 1` steps and the class scores of the last one.
    At inference only the first `context_frames` frames of a clip are read (the
    rest are targets), so `evaluate` measures early recognition honestly.

    `fit` takes a dataset of `(clip, label)` (e.g. `pipelines.ssv2.load`) and
    minimises `prediction_weight * (L1 + L2 of the T - 1 one-step predictions)
    + cross-entropy(label)`; the frame targets come from the clip.

    Args:
        frame_shape: `(height, width, channels)`; height and width divisible by
            `2 ** len(encoder_channels)`.
        num_classes: Number of activity classes (41 for the paper's subset).
        cell: A name of the cell registry (`"convttlstm"`, `"convlstm"`, or
            one added with `ctt_keras.layers.register_cell`) or a registered
            cell class.
        encoder_channels: Channels of the stride-2 encoder convs; the decoder
            mirrors them (two layers each by default, as in the paper).
        layers_per_block: Cells per block (eight cells in all by default).
        hidden_channels: Channels of the cells of each block.
        skip_stride: Skip distance in blocks, or `None`.
        kernel_size: Odd kernel size of the recurrent convolutions.
        order, steps, rank: Conv-TT-LSTM options (ignored for ConvLSTM).
        cell_options: Other keyword arguments of every cell (a dict; see
            `VideoPredictor`).
        classifier_channels: Channels of the classifier's stride-2 convs.
        output_sigmoid: Apply a sigmoid to the predicted frames.
        context_frames: Frames observed (10 = 25 % of a 40-frame clip).
        future_frames: Frames predicted by `recognize` (and in training clips).
        seed: Seed of the scheduled-sampling coins.
        remat: Recompute each step in the backward pass (`keras.remat`).
        **kwargs: `keras.Model` arguments (`name`, `dtype`).

    Call arguments:
        clip: `[batch, time, height, width, channels]`, frames in [0, 1], `time >= 2`
            (`time > context_frames` when not training).
        training: If true, teacher forcing with scheduled sampling over the whole clip.

    Input shape:
        `[batch, time, height, width, channels]`.

    Output shape:
        A dict: `"frames"`, `[batch, time - 1, ...]` when training (one-step
        predictions of frames 1..T-1), `[batch, time - context_frames, ...]`
        otherwise (closed-loop predictions); `"logits"`, `[batch, num_classes]`.
        Both float32 (also under mixed precision).

    Example:

    >>> model = EarlyActivityRecognizer((64, 64, 3), num_classes=41)
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))  # 10 * (L1 + L2) + cross-entropy
    >>> model.fit(pipelines.ssv2.load(data_dir, "train").batch(8), epochs=1)  # (clip, label)
    >>> out = model.recognize(context)                  # context [B, 10, 64, 64, 3]
    >>> out["logits"].shape, out["frames"].shape        # (B, 41), (B, 10, 64, 64, 3)
    """

    def __init__(
        self,
        frame_shape=(64, 64, 3),
        num_classes=41,
        cell="convttlstm",
        encoder_channels=(32, 64),
        layers_per_block=(2, 2, 2, 2),
        hidden_channels=(32, 48, 48, 32),
        skip_stride=2,
        kernel_size=5,
        order=3,
        steps=3,
        rank=8,
        classifier_channels=(64, 128),
        output_sigmoid=True,
        context_frames=10,
        future_frames=10,
        seed=None,
        remat=False,
        cell_options=None,
        **kwargs,
    ):
        frame_shape = check_frame_shape(frame_shape)
        encoder_channels = _positive_ints("encoder_channels", encoder_channels)
        classifier_channels = _positive_ints("classifier_channels", classifier_channels, allow_empty=True)
        factor = 2 ** len(encoder_channels)
        height, width, channels = frame_shape
        if height % factor or width % factor:
            raise ValueError(
                f"`frame_shape` {frame_shape} must be divisible by {factor} in height and width "
                f"(the encoder halves them {len(encoder_channels)} times, encoder_channels={encoder_channels})."
            )
        super().__init__(
            frame_shape=frame_shape,
            stack_input_shape=(height // factor, width // factor, encoder_channels[-1]),
            cell=cell, cell_options=cell_options, layers_per_block=layers_per_block,
            hidden_channels=hidden_channels, skip_stride=skip_stride, kernel_size=kernel_size, order=order,
            steps=steps, rank=rank, context_frames=context_frames, seed=seed, remat=remat, **kwargs,
        )
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"`num_classes` must be an int >= 2, got num_classes={num_classes!r}.")
        self.num_classes = num_classes
        self.encoder_channels = encoder_channels
        self.classifier_channels = classifier_channels
        self.output_sigmoid = bool(output_sigmoid)
        self.future_frames = _common.check_positive_int("future_frames", future_frames)

        conv = dict(kernel_size=3, strides=2, padding="same", dtype=self.dtype_policy)
        self.encoder = [
            keras.layers.Conv2D(c, activation="relu", name=f"encoder_{i}", **conv)
            for i, c in enumerate(encoder_channels)
        ]
        decoder_channels = tuple(reversed(encoder_channels[:-1])) + (channels,)
        self.decoder = [
            keras.layers.Conv2DTranspose(
                c, activation=None if i == len(decoder_channels) - 1 else "relu", name=f"decoder_{i}", **conv
            )
            for i, c in enumerate(decoder_channels)
        ]
        self.classifier = [
            keras.layers.Conv2D(c, activation="relu", name=f"classifier_conv_{i}", **conv)
            for i, c in enumerate(classifier_channels)
        ]
        self.flatten = keras.layers.Flatten(dtype=self.dtype_policy, name="classifier_flatten")
        self.class_scores = keras.layers.Dense(num_classes, name="classifier_dense", dtype=self.dtype_policy)
        self._finish_init()

    def build(self, input_shape=None):
        self._build_cells()
        shape = (None,) + self.frame_shape
        for layer in self.encoder:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        shape = (None,) + self.stack_input_shape[:2] + (self.stage_channels[-1],)
        for layer in self.decoder:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        shape = (None,) + self.stack_input_shape[:2] + (self.hidden_channels[-1],)
        for layer in self.classifier:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.flatten.build(shape)
        shape = self.flatten.compute_output_shape(shape)
        self.class_scores.build(shape)
        self.built = True

    def step(self, frame, states, training=None):
        """One recurrent step: reads `frame`, returns `(prediction_of_next_frame, new_states)`."""
        x = frame
        for layer in self.encoder:
            x = layer(x)
        x, new_states = self.run_stack(x, states, training=training)
        for layer in self.decoder:
            x = layer(x)
        if self.output_sigmoid:
            x = ops.sigmoid(x)
        return ops.cast(x, "float32"), new_states

    def classify(self, states):
        """Class scores (logits, float32 `[batch, num_classes]`) from the cells' states after a step."""
        x = self.output_state(len(self.cells) - 1, states)  # the last cell's latest output
        for layer in self.classifier:
            x = layer(x)
        return ops.cast(self.class_scores(self.flatten(x)), "float32")

    def call(self, clip, training=False):
        frames, states = self._clip_rollout(clip, training)
        return {FRAMES: frames, LOGITS: self.classify(states)}

    def recognize(self, context, future_frames=None):
        """Class scores and predicted frames from the observed frames alone.

        Args:
            context: `[batch, observed, height, width, channels]` in [0, 1].
            future_frames: Frames imagined before classifying (default: the
                model's `future_frames`, as in training).

        Returns:
            A dict: `"logits"` `[batch, num_classes]` and `"frames"`
            `[batch, future_frames, height, width, channels]`, float32.
        """
        context = self._check_clip(context, "context")
        future_frames = self.future_frames if future_frames is None else future_frames
        future_frames = _common.check_positive_int("future_frames", future_frames)
        observed = context.shape[1]
        frames, states = self.rollout(context, observed, observed + future_frames - 1, return_states=True)
        return {FRAMES: frames[:, -future_frames:], LOGITS: self.classify(states)}

    # -- training integration -------------------------------------------------------------------

    def compile(
        self, optimizer="adam", loss=None, loss_weights=None, metrics=None, prediction_weight=None,
        jit_compile="auto", **kwargs,
    ):
        """`keras.Model.compile` with the objective of the paper's recognition experiment.

        Defaults: `loss` = `{"frames": L1L2Loss(), "logits": sparse categorical
        cross-entropy from logits}`, `loss_weights` = `{"frames":
        prediction_weight, "logits": 1}` with `prediction_weight` 10 (the
        paper's lambda is not published; see docs/activity.md), `metrics` = top-1
        and top-5 accuracy of the logits. `jit_compile="auto"`: XLA on accelerators only.
        """
        if loss is None:
            loss = {
                FRAMES: L1L2Loss(),
                LOGITS: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            }
        if prediction_weight is not None and loss_weights is not None:
            raise ValueError("give `prediction_weight` or `loss_weights`, not both.")
        if loss_weights is None:
            weight = DEFAULT_PREDICTION_WEIGHT if prediction_weight is None else float(prediction_weight)
            if weight < 0:
                raise ValueError(f"`prediction_weight` must be >= 0, got {prediction_weight!r}.")
            loss_weights = {FRAMES: weight, LOGITS: 1.0}
        if metrics is None:
            metrics = {
                LOGITS: [
                    keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                    keras.metrics.SparseTopKCategoricalAccuracy(
                        k=min(5, self.num_classes), name=f"top{min(5, self.num_classes)}_accuracy"
                    ),
                ]
            }
        self._compile_with_defaults(
            jit_compile, optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics, **kwargs
        )

    def _targets(self, x, y, y_pred):
        # Datasets of (clip, label): the frame targets are the clip's last frames, as many as predictions.
        if isinstance(y, dict):
            return y
        return {FRAMES: x[:, -y_pred[FRAMES].shape[1] :], LOGITS: y}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "encoder_channels": self.encoder_channels,
                "classifier_channels": self.classifier_channels,
                "output_sigmoid": self.output_sigmoid,
                "future_frames": self.future_frames,
            }
        )
        return config


def _positive_ints(name, values, allow_empty=False):
    try:
        values = tuple(values)
    except TypeError:
        raise ValueError(f"`{name}` must be a sequence of positive ints, got {name}={values!r}.") from None
    if (not values and not allow_empty) or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values
    ):
        raise ValueError(f"`{name}` must be a {'' if allow_empty else 'non-empty '}sequence of positive ints, "
                         f"got {name}={values!r}.")
    return values
