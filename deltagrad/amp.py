"""``dg.amp``: automatic mixed precision (``torch.amp``) as it behaves without a GPU.

``autocast`` is a context manager (and decorator) that changes nothing in deltagrad: every op
computes in its inputs' dtype. For ``device_type='cuda'`` without a GPU PyTorch itself warns
and disables autocast; for ``'cpu'`` deltagrad warns once that it does not lower precision.

``GradScaler`` is loss scaling for float16 training, with PyTorch's API and numbers:
the loss is multiplied by the scale s before backward, ``unscale_`` multiplies every gradient
by 1/s and notes any inf/NaN, ``step`` skips the optimizer step when one was found, and
``update`` sets s ← s·backoff_factor after an overflow, s ← s·growth_factor after
``growth_interval`` clean steps. ``GradScaler('cuda')`` without a GPU disables itself with
PyTorch's warning; disabled, ``scale`` returns the loss unchanged, ``step`` is
``optimizer.step()``, ``update`` does nothing and ``state_dict()`` is ``{}``.
"""
from __future__ import annotations

import functools
import math
import warnings

from . import backend

__all__ = ["autocast", "GradScaler", "is_autocast_available"]

_VALID = ("cpu", "cuda")
_warned_cpu = [False]


def is_autocast_available(device_type: str) -> bool:
    return device_type in _VALID


class autocast:
    """``with dg.autocast('cuda'):`` / ``@dg.amp.autocast('cpu')``: a no-op in deltagrad."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"autocast: expected `device_type` of type `str`, got "
                             f"{type(device_type).__name__}")
        if device_type not in _VALID:
            raise RuntimeError(f"autocast: device_type must be 'cpu' or 'cuda' in deltagrad, "
                               f"got {device_type!r}")
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)
        if self._enabled and device_type == "cuda" and not backend.cuda_is_available():
            warnings.warn("User provided device_type of 'cuda', but CUDA is not available. "
                          "Disabling", stacklevel=2)
            self._enabled = False
        if self._enabled and not _warned_cpu[0]:
            _warned_cpu[0] = True
            warnings.warn(f"autocast({device_type!r}): deltagrad computes every op in its "
                          "inputs' dtype (no automatic lower precision)", stacklevel=2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return wrapped


class GradScaler:
    """Dynamic loss scaling (``torch.amp.GradScaler``); see the module docstring."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        if device not in _VALID:
            raise RuntimeError(f"GradScaler: device must be 'cpu' or 'cuda', got {device!r}")
        self._device = device
        self._enabled = bool(enabled)
        if self._enabled and device == "cuda" and not backend.cuda_is_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                          "Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled:
            if not growth_factor > 1.0:
                raise ValueError("GradScaler: the growth factor must be > 1.0.")
            if not backoff_factor < 1.0:
                raise ValueError("GradScaler: the backoff factor must be < 1.0.")
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer = {}  # id(optimizer) -> {"unscaled": bool, "found_inf": bool}

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        """outputs · s (a tensor, or a list/tuple of them); unchanged when disabled."""
        if not self._enabled:
            return outputs
        from .tensor import Tensor
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer),
                                              {"unscaled": False, "found_inf": False})

    def unscale_(self, optimizer) -> None:
        """Multiply the optimizer's gradients by 1/s and note whether any is inf/NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["unscaled"]:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        from .autograd import no_grad
        inv = float(backend.float32.type(1.0 / self._scale))  # PyTorch: float32(1/s)
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    xp = backend.array_module(p.grad._data)
                    if not bool(xp.isfinite(p.grad._data).all()):
                        found = True
                    p.grad.mul_(inv)
        state.update(unscaled=True, found_inf=found)

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless an inf/NaN gradient was found (then None)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        state = self._state(optimizer)
        if not state["unscaled"]:
            self.unscale_(optimizer)
        if state["found_inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """Back off after an overflow, grow after ``growth_interval`` clean steps."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        else:
            if any(s["found_inf"] for s in self._per_optimizer.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
            self._scale = float(backend.float32.type(self._scale))
        self._per_optimizer = {}

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def set_growth_interval(self, new_interval):
        self._growth_interval = int(new_interval)

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
        if not math.isfinite(self._scale):
            raise ValueError(f"GradScaler.load_state_dict: scale must be finite, got "
                             f"{self._scale}")
