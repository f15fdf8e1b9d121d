"""Recurrent cells and layers: ConvLSTM and Conv-TT-LSTM, in `keras.ops`, for Keras's RNN machinery."""

from ctt_keras.layers import _keras_rnn
from ctt_keras.layers.conv_lstm_2d import ConvLSTM2D
from ctt_keras.layers.conv_lstm_cell import ConvLSTMCell
from ctt_keras.layers.conv_recurrent_cell import ConvRecurrentCell
from ctt_keras.layers.conv_rnn import ConvRNN
from ctt_keras.layers.conv_tt_lstm_2d import ConvTTLSTM2D
from ctt_keras.layers.conv_tt_lstm_cell import ConvTTLSTMCell
from ctt_keras.layers.registry import cell_names, get_cell, register_cell

_keras_rnn.install()

__all__ = [
    "ConvLSTM2D",
    "ConvLSTMCell",
    "ConvRNN",
    "ConvRecurrentCell",
    "ConvTTLSTM2D",
    "ConvTTLSTMCell",
    "cell_names",
    "get_cell",
    "register_cell",
]
