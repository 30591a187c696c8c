"""deltagrad: a deep-learning framework from first principles on NumPy (CuPy on a GPU).

``import deltagrad as dg`` gives PyTorch's user-facing API: ``dg.tensor``, ``dg.nn``,
``dg.optim``, ``dg.utils.data`` and friends, with define-by-run reverse-mode autograd.
"""
from . import allocator  # noqa: F401  (keeps freed memory for reuse: see allocator.py)
from . import backend
from .backend import (float16, half, float32, float64, double, int8, uint8, int16, short,
                      int32, int64, long, bool_ as bool, device, Generator, manual_seed,
                      get_rng_state, set_rng_state, set_default_dtype, get_default_dtype,
                      set_default_device, get_default_device,
                      default_generator, finfo, iinfo, seed, initial_seed)
from .backend import float, int  # noqa: A001  (dg.float / dg.int as in torch)
from .tensor import (Tensor, Size, tensor, as_tensor, from_numpy, zeros, ones, empty, full,
                     rand, randn, randint, randperm, arange, linspace, eye, zeros_like,
                     ones_like, empty_like, full_like, rand_like, randn_like, randint_like,
                     result_type)
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode
from . import autograd
from .ops.elementwise import (add, sub, subtract, mul, multiply, div, divide, true_divide, pow,
                              neg, negative, abs, exp, log, log1p, expm1, sqrt, rsqrt, sin, cos,
                              tanh, sigmoid, relu, clamp, clip, sign, where, maximum, minimum,
                              reciprocal, erf, arctan, atan, tan, arcsin, asin, arccos, acos,
                              eq, ne, lt, le, gt, ge,
                              logical_and, logical_or, logical_xor, logical_not, isnan, isinf,
                              isfinite, floor, ceil, round, trunc, equal, allclose, isclose,
                              clone, nonzero, remainder, floor_divide, square, bitwise_and,
                              bitwise_or, bitwise_xor, bitwise_not)
from .ops.reduce import (sum, mean, var, std, var_mean, std_mean, max, min, amax, amin, argmax,
                         argmin, logsumexp, prod, norm, cumsum, all, any, count_nonzero)
from .ops.shape import (reshape, flatten, unflatten, squeeze, unsqueeze, permute, transpose,
                        swapaxes, swapdims, movedim, t, expand_copy, broadcast_to,
                        broadcast_tensors, cat, concat, concatenate, stack, hstack, vstack, split,
                        chunk, unbind, flip, roll, tril, triu, repeat_interleave)
from .ops.indexing import (index_select, narrow, select, masked_fill, masked_select, gather,
                           scatter_add, scatter, take_along_dim)
from .ops.linalg import (matmul, mm, bmm, mv, dot, inner, outer, ger, einsum, diag, diagonal,
                         trace, tensordot, addmm)
from .ops.composite import (lerp, logaddexp, log2, log10, nan_to_num, diff,  # noqa: F401
                            meshgrid, tensor_split, isin, bincount)
from .ops.sorting import (sort, argsort, msort, topk, kthvalue, median, unique, searchsorted,
                          bucketize)
from .ops.sampling import multinomial, bernoulli, normal
from .ops.distance import cdist, pdist
from .ops.cumulative import cumprod  # noqa: F401
from .ops.pointwise import atan2, arctan2, clamp_min, clamp_max  # noqa: F401
from .ops.products import baddbmm, addbmm, kron, cross  # noqa: F401
from .ops.layout import tile, ravel, moveaxis, rot90, tril_indices, triu_indices  # noqa: F401
from .ops.index_update import index_add, index_copy, index_fill  # noqa: F401
from .ops.elementwise import addcmul, addcdiv
from .ops.special import lgamma, digamma, polygamma, erfinv
from .threads import set_num_threads, get_num_threads
from .legacy import (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor,  # noqa: F401
                     ShortTensor, CharTensor, ByteTensor, BoolTensor)
from .ops.activation import softmax, log_softmax


def is_tensor(obj):
    """True if ``obj`` is a deltagrad Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def numel(input):
    """The number of elements of ``input`` (``torch.numel``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): argument 'input' must be a Tensor, got {type(input).__name__}")
    return input.numel()


from . import nn, optim, utils  # noqa: E402,F401
from .io import serialization, save, load  # noqa: E402,F401

cuda_is_available = backend.cuda_is_available
from . import cuda, amp, backends, accelerator  # noqa: E402,F401  (device namespaces)
from . import multiprocessing  # noqa: E402,F401  (torch.multiprocessing)
from .amp import autocast  # noqa: E402,F401
from .backends import set_float32_matmul_precision, get_float32_matmul_precision  # noqa: E402,F401
from math import inf, nan, pi, e  # noqa: E402,F401  (torch.inf, torch.pi, ...)
from .sparse import sparse_coo_tensor, spmm  # noqa: E402,F401

__version__ = "0.1.0"

_SUBMODULES = ("nn", "optim", "utils", "datasets", "models", "metrics", "train", "analysis",
               "interpret", "pgm", "cli", "report", "experiments", "linalg", "distributions",
               "special", "torch_compat", "random", "version", "profiler")


#: loaded on first use but listed by dir() as if imported (they were, before they became lazy)
_LISTED_LAZY = {"bfloat16", "datasets", "metrics", "models", "analysis", "onnx"}


def __dir__():
    return sorted(set(globals()) | _LISTED_LAZY)


def __getattr__(name):
    """``dg.datasets``, ``dg.metrics``, ``dg.models``, ``dg.onnx``, ... imported on first use
    (``import deltagrad`` stays light: ``dg.metrics`` alone loads SciPy);
    ``dg.bfloat16`` loads the ml_dtypes package on first use."""
    if name == "bfloat16":
        return backend.bfloat16_dtype()
    if name in _SUBMODULES or name == "onnx":
        import importlib
        return importlib.import_module(".io.onnx" if name == "onnx" else f".{name}", __name__)
    raise AttributeError(f"module 'deltagrad' has no attribute {name!r}")
