"""``dg.distributed``: data-parallel training over MPI processes, with PyTorch's names.

``init_process_group(backend="mpi")``, ``get_rank``, ``get_world_size``, ``all_reduce``,
``broadcast``, ``all_gather``, ``barrier``, ``destroy_process_group``; the model wrapper is
``dg.nn.parallel.DistributedDataParallel`` and the sampler
``dg.utils.data.DistributedSampler``.
"""
from .process_group import (ReduceOp, all_gather, all_reduce, barrier,  # noqa: F401
                            broadcast, broadcast_object, destroy_process_group, get_rank,
                            get_world_size, init_process_group, is_available, is_initialized,
                            is_mpi_available)
from . import nn  # noqa: F401   (dg.distributed.nn.functional.all_reduce: differentiable)
