"""ctt_keras.metrics: per-frame MSE, MAE, PSNR, SSIM and LPIPS, with the evaluation conventions of
the paper's code and of OpenSTL.

Functions take frames `[B, H, W, C]` or sequences `[B, T, H, W, C]` and return one
value per frame (`[B]` or `[B, T]`).
"""

from ctt_keras.metrics.frame_metrics import mae, mse, psnr  # noqa: F401
from ctt_keras.metrics.ssim import ssim  # noqa: F401
from ctt_keras.metrics.lpips import LPIPS, lpips  # noqa: F401
from ctt_keras.metrics.evaluation import CONVENTIONS, Convention, evaluate, markdown_table  # noqa: F401
from ctt_keras.metrics.keras_metrics import FrameLPIPS, FrameMAE, FrameMSE, FramePSNR, FrameSSIM  # noqa: F401
