"""A plain-numpy implementation of the cells of the paper and the official code
(github.com/NVlabs/conv-tt-lstm), written straight from the formulas (no caching)."""

import numpy as np


def conv_same(x, kernel, bias=None):
    """x [B, H, W, Cin], kernel [kh, kw, Cin, Cout], zero "same" padding, stride 1."""
    kh, kw = kernel.shape[:2]
    ph, pw = kh // 2, kw // 2
    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    h, w = x.shape[1:3]
    out = np.zeros(x.shape[:3] + (kernel.shape[-1],), np.float64)
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("bhwc,cd->bhwd", padded[:, i : i + h, j : j + w], kernel[i, j])
    if bias is not None:
        out += bias
    return out


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm(gates, c):
    i, f, o, g = np.split(gates, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def conv_lstm_sequence(x, kernel, bias, filters):
    """x [B, T, H, W, C] -> hidden states [B, T, H, W, filters] and the final c."""
    b, t, h, w, _ = x.shape
    hid = np.zeros((b, h, w, filters))
    c = np.zeros_like(hid)
    outs = []
    for s in range(t):
        hid, c = lstm(conv_same(np.concatenate([x[:, s], hid], -1), kernel, bias), c)
        outs.append(hid)
    return np.stack(outs, 1), c


def conv_tt_lstm_sequence(x, u_kernels, u_biases, core_kernels, core_biases, gate_kernel, gate_bias,
                          filters, order, steps):
    """The Conv-TT-LSTM with raw hidden-state windows. u_kernels[l]: [kh, kw, L*Ch, r] (oldest first)."""
    b, t, h, w, _ = x.shape
    window = steps - order + 1
    history = [np.zeros((b, h, w, filters)) for _ in range(steps)]  # oldest first
    c = np.zeros((b, h, w, filters))
    outs = []
    for s in range(t):
        tt = None
        for l in range(order):
            win = np.concatenate(history[l : l + window], axis=-1)
            u = conv_same(win, u_kernels[l], u_biases[l])
            tt = u if tt is None else u + conv_same(tt, core_kernels[l - 1], core_biases[l - 1])
        hid, c = lstm(conv_same(np.concatenate([x[:, s], tt], -1), gate_kernel, gate_bias), c)
        history = history[1:] + [hid]
        outs.append(hid)
    return np.stack(outs, 1), c
