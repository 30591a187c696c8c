"""Utilities outside the autograd core: ``dg.utils.data`` (datasets, loaders, splits, transforms)."""
from . import data
from ..io import safetensors  # dg.utils.safetensors (the package is imported on first use)
from . import tensorboard  # SummaryWriter (tensorboardX is imported on first use)

__all__ = ["data", "safetensors", "tensorboard"]
