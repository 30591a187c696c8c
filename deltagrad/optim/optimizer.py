"""``dg.optim.Optimizer``: parameter groups, per-parameter state, ``state_dict``, and one
update loop shared by every optimizer.

A subclass states three things and nothing else:

* ``_check(options)``: reject invalid hyper-parameters (``lr < 0``, ``betas`` outside [0, 1)),
  with PyTorch's message plus the option's name;
* ``_init_state(group, param_array)``: the state a parameter starts with (arrays like
  ``exp_avg`` and 0-d scalars like ``step``);
* ``_update(group, param, grad, state, fresh, grad_owned)``: one step of the rule on raw
  arrays, in place, in the same operation order as ``torch.optim`` (so the numbers agree).

The update runs either per parameter, or once over a whole group through flat buffers
(the ``foreach`` path): parameters and gradients are gathered into one 1-D array each,
the rule runs once, and the parameters are scattered back. The per-parameter state tensors
are then views into one flat buffer per state name, so ``opt.state[p]["exp_avg"]`` is still a
tensor shaped like ``p``. Both paths run the same element-wise operations, so they give the
same numbers; the flat one removes the per-parameter Python overhead when a model has many
small parameters. ``foreach=None`` picks the flat path when the parameters are small on
average; ``True``/``False`` force it on/off.
"""
from __future__ import annotations

import numbers
import threading
from collections import defaultdict
from itertools import chain

import numpy as np

from .. import backend
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor, _make
from ..threads import balanced_groups, parallel, split_count

# The flat path pays two extra copies per element; below this mean size per parameter the
# Python overhead it removes is larger than the copies (measured in benchmarks/optim_step.py).
_FLAT_MAX_MEAN_NUMEL = 1 << 14


class _RequiredParameter:
    """Marks a hyper-parameter without a default (``torch.optim.optimizer.required``)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _scalar_dtype():
    """dtype of scalar state such as ``step`` (float32, or float64 under a float64 default)."""
    wide = backend.get_default_dtype() == np.float64
    return np.dtype(np.float64) if wide else np.dtype(np.float32)


def _scalar(value=0.0):
    return np.array(value, dtype=_scalar_dtype())


def _advance(steps) -> float:
    """``step += 1`` on a step counter (0-d, or one entry per parameter on the flat path)."""
    steps += 1
    return float(steps.reshape(-1)[0])


def _signed(grad, maximize, owned):
    """``g = -∇`` when maximizing; never writes into a ``.grad`` the optimizer doesn't own."""
    if not maximize:
        return grad
    if owned:
        grad *= -1
        return grad
    return -grad


def _l2(grad, param, weight_decay):
    """Coupled weight decay ``g ← g + λθ`` (a new array: ``.grad`` stays untouched)."""
    return grad + weight_decay * param if weight_decay != 0 else grad


def _lerp_(avg, target, weight, tmp=None):
    """``avg ← avg + w (target − avg)``: an exponential moving average, in torch's order.

    ``tmp`` (an array like ``avg``) avoids allocating a temporary.
    """
    xp = backend.array_module(avg)
    diff = target - avg if tmp is None else xp.subtract(target, avg, out=tmp)
    if abs(weight) < 0.5:
        diff *= weight
        avg += diff
    else:
        diff *= 1 - weight
        xp.subtract(target, diff, out=avg)


def _check_real(opt, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{opt}: option '{name}' must be a real number, got "
                        f"{type(value).__name__} {value!r}")


def check_nonnegative(opt, name, what, value):
    """``0 <= value``, else torch's message naming the option (e.g. ``Invalid learning rate``)."""
    _check_real(opt, name, value)
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what}: {value} ({opt} option '{name}' must be >= 0)")


def check_betas(opt, betas, name="betas"):
    """Both coefficients in ``[0, 1)``, else torch's ``Invalid beta parameter at index i``."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{opt}: option '{name}' must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        _check_real(opt, f"{name}[{i}]", b)
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b} ({opt} option "
                             f"'{name}[{i}]' must be in [0, 1))")


class _Flat:
    """One group's parameters as flat buffers: gather, update once, scatter back."""

    __slots__ = ("params", "ids", "shapes", "bounds", "dtype", "param_buf", "grad_buf",
                 "arrays", "fresh", "state")

    def run(self, opt, group):
        xp = backend.array_module(self.param_buf)
        xp.concatenate([p._data.reshape(-1) for p in self.params], out=self.param_buf)
        xp.concatenate([p._grad._data.reshape(-1) for p in self.params], out=self.grad_buf)
        opt._update(group, self.param_buf, self.grad_buf, self.arrays, self.fresh, True)
        self.fresh = False
        buf = self.param_buf
        for p, (lo, hi), shape in zip(self.params, self.bounds, self.shapes):
            p._data[...] = buf[lo:hi].reshape(shape)
            p._version += 1


class Optimizer:
    """Base class of every optimizer (``torch.optim.Optimizer``).

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter
    groups) whose keys override ``defaults`` for their parameters.
    """

    _scalar_keys = ("step",)

    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        self._check({k: v for k, v in defaults.items() if v is not required})
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        self._flat: dict = {}
        self._buffers: dict = {}
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ------------------------------------------------------------------ subclass hooks
    def _check(self, options: dict) -> None:
        """Raise on invalid hyper-parameters (the subclass lists its own)."""

    def _init_state(self, group: dict, param) -> dict:
        """The arrays a parameter's state starts with (none by default)."""
        return {}

    def _update(self, group, param, grad, state, fresh, grad_owned):
        raise NotImplementedError(f"{type(self).__name__} must define _update")

    def _scratch(self, like, k):
        """``k`` work arrays shaped like ``like``, kept between steps: a fresh large temporary
        costs page faults every step (≈ as much as the arithmetic on it)."""
        key = (like.shape, like.dtype, backend.device_of(like), threading.get_ident())
        bufs = self._buffers.get(key)
        if bufs is None or len(bufs) < k:
            xp = backend.array_module(like)
            bufs = self._buffers[key] = [xp.empty(like.shape, like.dtype) for _ in range(k)]
        return bufs[:k]

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (``torch``'s ``add_param_group``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("param_group must have a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
            if not p.is_floating_point():
                raise TypeError(f"optimizer can only optimize floating-point tensors, got one "
                                f"of dtype {p.dtype}")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._check({k: v for k, v in group.items() if k in self.defaults})
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{type(self).__name__}: a parameter group contains the same "
                             "parameter twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        named = "param_names" in group
        if self.param_groups and named != ("param_names" in self.param_groups[0]):
            raise ValueError("all optimizer param groups should be with/without names.")
        self.param_groups.append(group)

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to ``None`` (default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g._requires_grad = False
                    g._data[...] = 0
                    g._version += 1

    def step(self, closure=None):
        """One update of every parameter that has a ``.grad``; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p._grad is not None]
            if not params:
                continue
            flat = self._flat_for(gi, group, params)
            if flat is not None:
                flat.run(self, group)
            else:
                self._step_each(group, params)
        self._opt_called = True
        return loss

    def _step_each(self, group, params):
        """The parameters one by one; large ones shared out over the threads (each
        parameter's update is independent of the others', and each thread has its own work
        arrays, see ``_scratch``)."""
        sizes = [p._data.size for p in params]
        k = split_count(sum(sizes)) if all(type(p._data) is np.ndarray for p in params) else 1
        if k <= 1:
            for p in params:
                self._step_one(group, p)
            return
        parallel([(lambda ix=ix: [self._step_one(group, params[i]) for i in ix])
                  for ix in balanced_groups(sizes, k)])

    def _step_one(self, group, p):
        st = self.state.get(p)
        fresh = not st
        if fresh:
            init = self._init_state(group, p._data)
            if init:
                st = self.state[p]
                st.update({k: _make(v) for k, v in init.items()})
        arrays = {k: v._data for k, v in st.items()} if st else {}
        self._update(group, p._data, p._grad._data, arrays, fresh, False)
        p._version += 1

    def _flat_for(self, gi, group, params):
        """The flat buffers of group ``gi`` for exactly ``params``, or None to go per parameter."""
        mode = group.get("foreach")
        if mode is False or len(params) < 2:
            return None
        ids = tuple(map(id, params))
        cached = self._flat.get(gi)
        dtype = params[0]._data.dtype
        if cached is not None and cached[0] == ids and cached[1] is self.state:
            flat = cached[2]
            if flat is None or all(p._data.dtype == dtype for p in params):
                return flat
        flat = None
        if mode is True or sum(p._data.size for p in params) < _FLAT_MAX_MEAN_NUMEL * len(params):
            flat = self._build_flat(group, params)
        self._flat[gi] = (ids, self.state, flat)
        return flat

    def _build_flat(self, group, params):
        p0 = params[0]
        dtype, dev = p0._data.dtype, p0._device
        if any(p._data.dtype != dtype or p._device != dev or p._grad._data.dtype != dtype
               for p in params):
            return None
        states = [self.state.get(p) for p in params]
        fresh = not any(states)
        if not fresh and not all(states):
            return None
        xp = backend.xp_for(dev)
        sizes = [p._data.size for p in params]
        ends = np.cumsum(sizes).tolist()
        bounds = list(zip([0] + ends[:-1], ends))
        n = ends[-1]
        if fresh:
            init = self._init_state(group, xp.empty(n, dtype=dtype))
            arrays = {}
            for k, v in init.items():
                arrays[k] = (np.full(len(params), v, dtype=v.dtype) if k in self._scalar_keys
                             else v)
        else:
            keys = set(states[0])
            if any(set(s) != keys for s in states):
                return None
            arrays = {}
            for k in keys:
                if k in self._scalar_keys:
                    vals = np.array([float(s[k]) for s in states], dtype=_scalar_dtype())
                    if not (vals == vals[0]).all():
                        return None      # parameters at different steps: go one by one
                    arrays[k] = vals
                else:
                    parts = [s[k] for s in states]
                    if any(not isinstance(t, Tensor) or t.shape != p.shape or t.dtype != dtype
                           for t, p in zip(parts, params)):
                        return None
                    arrays[k] = xp.concatenate([t._data.reshape(-1) for t in parts])
        for i, (p, (lo, hi)) in enumerate(zip(params, bounds)):
            st = self.state[p] if arrays else None
            for k, a in arrays.items():
                scalar = k in self._scalar_keys
                st[k] = _make(a[i:i + 1].reshape(()) if scalar else a[lo:hi].reshape(p.shape))
        flat = _Flat()
        flat.params, flat.ids = list(params), tuple(map(id, params))
        flat.shapes = [p._data.shape for p in params]
        flat.bounds, flat.dtype = bounds, dtype
        flat.param_buf = xp.empty(n, dtype=dtype)
        flat.grad_buf = xp.empty(n, dtype=dtype)
        flat.arrays, flat.fresh, flat.state = arrays, fresh, self.state
        return flat

    # ------------------------------------------------------------------ state_dict
    def state_dict(self) -> dict:
        """``{"state": {index: {name: value}}, "param_groups": [{options, "params": [index]}]}``.

        As in PyTorch the tensors are the live state (not copies): ``copy.deepcopy`` the
        result to keep a snapshot while training goes on.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): dict(v)
                 for k, v in self.state.items() if v}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a ``state_dict()`` (copies its arrays, cast to each parameter's dtype)."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            raise ValueError(f"{type(self).__name__}.load_state_dict expects a dict with 'state' "
                             "and 'param_groups' (as returned by state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(self.param_groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(self.param_groups, saved_groups):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in self.param_groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k not in id_map:
                state[k] = v
                continue
            p = id_map[k]
            state[p] = {name: self._load_value(p, k, name, value) for name, value in v.items()}
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            ng = {name: value for name, value in s.items() if name != "params"}
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                ng["param_names"] = g["param_names"]
            new_groups.append(ng)
        self.param_groups = new_groups
        self.state = state
        self._flat = {}
        self._buffers = {}

    def _load_value(self, p, index, name, value):
        if name in self._scalar_keys:
            return _make(_scalar(float(value)))
        if value is None or isinstance(value, (numbers.Number, str)):
            return value
        if isinstance(value, Tensor):
            value = backend.to_numpy(value._data)
        arr = np.array(np.asarray(value), dtype=p.dtype, copy=True)   # also takes torch tensors
        if arr.shape != tuple(p.shape):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state '{name}' of parameter "
                             f"{index} has shape {arr.shape} but the parameter has shape "
                             f"{tuple(p.shape)}")
        return _make(backend.to_device(arr, p._device))

    # ------------------------------------------------------------------ misc
    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._flat, self._buffers = {}, {}

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
