"""Recurrent cells and layers: ConvLSTM and Conv-TT-LSTM, in `keras.ops`."""

from ctt_keras.layers.conv_lstm_cell import ConvLSTMCell
from ctt_keras.layers.conv_rnn import ConvRNN
from ctt_keras.layers.conv_tt_lstm_cell import ConvTTLSTMCell

__all__ = ["ConvLSTMCell", "ConvTTLSTMCell", "ConvRNN"]
