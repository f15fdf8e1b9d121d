"""Reading foreign checkpoints and mapping them to ctt_keras weights."""

from ctt_keras.checkpoints.nvlabs import (
    assign_nvlabs_weights,
    from_nvlabs,
    infer_config,
    load_state_dict,
    nvlabs_state_dict,
)
from ctt_keras.checkpoints.torch_reader import read_torch_checkpoint

__all__ = [
    "from_nvlabs",
    "assign_nvlabs_weights",
    "infer_config",
    "load_state_dict",
    "nvlabs_state_dict",
    "read_torch_checkpoint",
]
