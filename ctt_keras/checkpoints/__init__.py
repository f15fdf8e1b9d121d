"""Reading foreign checkpoints and mapping them to ctt_keras weights (NumPy only: no torch, no TensorFlow).

- `torch_reader`: `torch.save` files read without torch, with an allow-listed unpickler and
  sizes checked before anything is allocated;
- `nvlabs`: the official code's parameter names and layouts <-> `VideoPredictor`;
- `official`: NVIDIA's published checkpoints, the structural check against a model, the
  conversion cache.
"""

from ctt_keras.checkpoints import official
from ctt_keras.checkpoints.nvlabs import (
    assign_nvlabs_weights,
    from_nvlabs,
    infer_config,
    load_state_dict,
    nvlabs_state_dict,
)
from ctt_keras.checkpoints.torch_reader import (
    TorchCheckpointError,
    UnsafeCheckpointError,
    read_torch_checkpoint,
)

__all__ = [
    "TorchCheckpointError",
    "UnsafeCheckpointError",
    "assign_nvlabs_weights",
    "from_nvlabs",
    "infer_config",
    "load_state_dict",
    "nvlabs_state_dict",
    "official",
    "read_torch_checkpoint",
]
