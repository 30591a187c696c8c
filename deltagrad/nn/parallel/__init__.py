"""``dg.nn.parallel``: data-parallel training (``DistributedDataParallel`` on MPI)."""
from .distributed import DistributedDataParallel  # noqa: F401

__all__ = ["DistributedDataParallel"]
