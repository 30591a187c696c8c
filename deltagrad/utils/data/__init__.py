"""``dg.utils.data``: datasets, samplers, the ``DataLoader``, splits and transforms.

Mirrors ``torch.utils.data`` (same names, arguments and defaults). Additions:
``holdout_split`` / ``kfold`` / ``leave_one_out`` for model selection, ``StackedBatch``
(the batch fast path, see ``dataset.py``) and ``transforms`` (torchvision's image transforms,
working on single images and on whole batches).
"""
from . import transforms
from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import (ConcatDataset, Dataset, IterableDataset, StackedBatch, Subset,
                      TensorDataset, random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .splits import holdout_split, kfold, leave_one_out
from .distributed import DistributedSampler

__all__ = ["DistributedSampler", "Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "Subset",
           "StackedBatch", "random_split", "DataLoader", "get_worker_info",
           "default_collate", "default_convert",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "holdout_split", "kfold", "leave_one_out",
           "transforms"]
