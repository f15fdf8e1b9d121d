"""Losses of the Conv-TT-LSTM training recipe."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ctt_keras")
class L1L2Loss(keras.losses.Loss):
    """`mean|y - p| + mean((y - p)^2)`: the official code's training objective.

    Both means run over every element (batch, time, pixels, channels), which the
    default `"sum_over_batch_size"` reduction of the element-wise sum gives.

    Args:
        l1_weight: Weight of the L1 term (1.0 in the paper).
        l2_weight: Weight of the L2 term (1.0 in the paper).
        reduction, name, dtype: As for `keras.losses.Loss`.

    Example:

    >>> loss = L1L2Loss()
    >>> float(loss(np.zeros((1, 2)), np.array([[0.5, -1.0]])))  # (0.5+1)/2 + (0.25+1)/2
    1.375
    """

    def __init__(self, l1_weight=1.0, l2_weight=1.0, reduction="sum_over_batch_size", name="l1_l2", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.l1_weight = float(l1_weight)
        self.l2_weight = float(l2_weight)

    def call(self, y_true, y_pred):
        diff = ops.convert_to_tensor(y_pred, self.dtype) - ops.convert_to_tensor(y_true, self.dtype)
        return self.l1_weight * ops.abs(diff) + self.l2_weight * ops.square(diff)

    def get_config(self):
        return {
            "l1_weight": self.l1_weight,
            "l2_weight": self.l2_weight,
            "reduction": self.reduction,
            "name": self.name,
        }
