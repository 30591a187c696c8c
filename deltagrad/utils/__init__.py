"""Utilities outside the autograd core: ``dg.utils.data`` (datasets, loaders, splits, transforms)."""
from . import data

__all__ = ["data"]
