"""``dg.nn.init``: weight initialisation, in place and without recording gradients.

All draws come from the global generator (``dg.manual_seed`` makes them repeatable) or from
the ``generator`` argument. Names, arguments and numbers follow ``torch.nn.init``.

A word on names. Lecture notes 002 (§1.9.1, "Xavier Initialization") draw
W⁽ˡ⁾_{j,i} ~ N(0, 1) and scale by √(1/n⁽ˡ⁻¹⁾), i.e. W ~ N(0, 1/fan_in). Most texts and
PyTorch call that **LeCun** initialisation (``lecun_normal_`` here); PyTorch's
``xavier_normal_`` (Glorot & Bengio) is N(0, 2/(fan_in + fan_out)) instead. The notes'
"He" init (§1.9.2), W ~ N(0, 2/n⁽ˡ⁻¹⁾), is ``kaiming_normal_(w, nonlinearity='relu')``,
also available as ``he_normal_``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "he_uniform_", "he_normal_", "lecun_uniform_", "lecun_normal_",
           "orthogonal_"]

_LINEAR_GAIN_ONE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                    "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain g that keeps Var of activations ≈ 1 through ``nonlinearity``.

    linear/conv*/sigmoid: 1, tanh: 5/3, relu: √2, leaky_relu: √(2/(1 + slope²))
    (slope = ``param``, default 0.01), selu: 3/4.
    """
    if nonlinearity in _LINEAR_GAIN_ONE:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = size(1)·r, fan_out = size(0)·r, r = prod(size[2:]) (a conv kernel's window)."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         f"2 dimensions (got shape {tuple(tensor.shape)})")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check(tensor, op):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{op}: expected a Tensor, got {type(tensor).__name__}")


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with U(a, b)."""
    _check(tensor, "uniform_")
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with N(mean, std²)."""
    _check(tensor, "normal_")
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None):
    """Fill with N(mean, std²) restricted to [a, b] (absolute bounds, not in units of std).

    Drawn exactly by inverting the CDF: u ~ U(Φ(α), Φ(β)), x = mean + std·Φ⁻¹(u),
    with α = (a − mean)/std, β = (b − mean)/std.
    """
    from scipy.special import ndtr, ndtri
    _check(tensor, "trunc_normal_")
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    lo, hi = ndtr((a - mean) / std), ndtr((b - mean) / std)
    u = backend.rng(generator).uniform(lo, hi, tuple(tensor.shape))
    x = np.clip(mean + std * ndtri(u), a, b)
    return _write(tensor, x)


def _write(tensor, values):
    with no_grad():
        tensor._data[...] = backend.to_device(np.asarray(values, dtype=tensor.dtype),
                                              tensor.device)
        tensor._version += 1
    return tensor


def constant_(tensor, val: float):
    """Fill with ``val``."""
    _check(tensor, "constant_")
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    """Fill with 1."""
    return constant_(tensor, 1.0)


def zeros_(tensor):
    """Fill with 0."""
    return constant_(tensor, 0.0)


def eye_(tensor):
    """The identity matrix (2-D tensors only): keeps inputs unchanged in a Linear layer."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    return _write(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot & Bengio (2010): U(−a, a), a = gain·√(6/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot & Bengio (2010): N(0, std²), std = gain·√(2/(fan_in + fan_out)).

    (Not the notes' "Xavier" of 002 §1.9.1, which is ``lecun_normal_``.)
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None):
    """He et al. (2015): U(−bound, bound), bound = √3 · gain/√fan (gain from ``a``)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None):
    """He et al. (2015): N(0, std²), std = gain/√fan; the notes' (002 §1.9.2) He init is
    ``kaiming_normal_(w, nonlinearity='relu')``: W ~ N(0, 2/n⁽ˡ⁻¹⁾)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def lecun_normal_(tensor, generator=None):
    """LeCun (1998): N(0, 1/fan_in), i.e. W = N(0, 1)·√(1/n⁽ˡ⁻¹⁾).

    This is what lecture notes 002 §1.9.1 call "Xavier initialization" (for tanh/sigmoid
    layers); PyTorch's ``xavier_normal_`` uses 2/(fan_in + fan_out) instead.
    """
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fan_in), generator)


def lecun_uniform_(tensor, generator=None):
    """LeCun (1998), uniform form: U(−√(3/fan_in), √(3/fan_in)) (variance 1/fan_in)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0 / fan_in)
    return uniform_(tensor, -bound, bound, generator)


he_uniform_ = kaiming_uniform_
he_normal_ = kaiming_normal_


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """Saxe et al. (2013): a (semi-)orthogonal matrix, from the QR factorisation of a
    Gaussian matrix with the signs of diag(R) folded into Q (uniform over the group);
    trailing dimensions are flattened. Multiplied by ``gain``."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = backend.rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tuple(tensor.shape)))
