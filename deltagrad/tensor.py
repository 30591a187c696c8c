"""``dg.Tensor``: an array (NumPy or CuPy) with a place in the autograd graph.

A tensor is a leaf when the user made it (``grad_fn is None``); it then collects
``.grad`` in backward if ``requires_grad``. A tensor made by an operation on tensors
that require grad points at the node that made it (``grad_fn``) and, as in PyTorch, gets
a ``.grad`` only if ``retain_grad()`` was called.
"""
from __future__ import annotations

import builtins
import weakref

import numpy as np

from . import backend
from .autograd.grad_mode import _state
from .autograd import views as _views

_pybool, _pyint, _pyfloat = builtins.bool, builtins.int, builtins.float


def _make(data, requires_grad=False, grad_fn=None, output_nr=0, cls=None):
    """Wrap an array without copying (the hot path of every operation)."""
    t = object.__new__(cls or Tensor)
    if type(data) is np.ndarray:
        t._device = backend.CPU
    elif isinstance(data, np.generic):
        data = np.array(data)  # writable (np.asarray of a scalar is read-only): x.sum().add_(1)
        t._device = backend.CPU
    else:
        t._device = backend.device_of(data)
        if t._device.type == "cpu" and not isinstance(data, np.ndarray):
            data = np.asarray(data)
    t._data = data
    t._requires_grad = requires_grad
    t._grad = None
    t._grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = None  # version counter [n], shared by views (None: version 0, not shared yet)
    t._view = None  # ViewInfo when this tensor is a view of another's memory
    t._acc = None
    return t


class Tensor(backend.ConversionShortcuts):
    """A multi-dimensional array that records the operations applied to it."""

    __slots__ = ("_data", "_requires_grad", "_grad", "_grad_fn", "_output_nr", "_vc", "_view",
                 "_acc", "_device", "__weakref__", "__dict__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, *args, device=None, requires_grad=False):
        """The legacy constructor, as in PyTorch: ``Tensor(3)`` and ``Tensor(2, 3)`` are
        'uninitialised' (here: zero) tensors of those sizes, ``Tensor(Size)`` likewise,
        ``Tensor([1, 2])`` holds data in the default dtype, ``Tensor()`` is empty. For data of
        another dtype use ``dg.tensor(data, dtype=...)``."""
        from .legacy import legacy_new
        a = legacy_new(args, backend.get_default_dtype(), device, "Tensor")
        self._data = a
        self._device = backend.device_of(a)
        self._grad = None
        self._grad_fn = None
        self._output_nr = 0
        self._vc = None
        self._view = None
        self._acc = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_norm_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        return self._device

    @property
    def is_cuda(self):
        return self._device.type == "cuda"

    @property
    def is_cpu(self):
        return self._device.type == "cpu"

    is_xpu = is_mps = is_meta = property(lambda self: False)  # no such devices here
    is_sparse = False  # dense; dg.sparse.SparseCOOTensor says True

    def to_sparse(self, sparse_dim=None):
        """The nonzero entries as a sparse COO tensor (``dg.sparse``)."""
        from .sparse import to_sparse
        return to_sparse(self, sparse_dim)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def numel(self):
        return _pyint(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return backend.is_floating(self._data.dtype)

    def is_contiguous(self):
        return _pybool(self._data.flags.c_contiguous)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ------------------------------------------------------------------ autograd state
    @property
    def requires_grad(self):
        vi = self._view
        if vi is not None and vi.version != self._vc[0]:
            _views.refresh(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = _pybool(value)
        if self.grad_fn is not None and not value:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; "
                               "use .detach() to get a tensor that does not require grad")
        if value and not backend.is_floating(self._data.dtype):
            raise RuntimeError(f"only tensors of floating point dtype can require gradients, "
                               f"got {self._data.dtype}")
        self._requires_grad = value

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def grad_fn(self):
        """The node that made this tensor (None for a leaf); a view whose base was changed in
        place since it was made is first rebuilt on the base's new node."""
        vi = self._view
        if vi is not None and vi.version != self._vc[0]:
            _views.refresh(self)
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node):
        self._grad_fn = node

    @property
    def _version(self):
        """How many in-place writes this tensor's memory has had, through any view of it
        (``torch.Tensor._version``); ``.detach()`` shares the counter, ``.data`` does not."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    @_version.setter
    def _version(self, n):
        vc = self._vc
        if vc is None:
            self._vc = [n]
        else:
            vc[0] = n

    @property
    def _base(self):
        """The tensor whose memory this view shows (None if this is not a view)."""
        return None if self._view is None else self._view.base

    def _is_view(self):
        return self._view is not None

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has shape {tuple(value.shape)} but the tensor "
                                   f"has shape {tuple(self.shape)}")
        self._grad = value

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on a tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        retained = getattr(self.grad_fn, "_retained", None)
        if retained is None:
            retained = self.grad_fn._retained = {}
        retained[self._output_nr] = weakref.ref(self)

    def register_hook(self, hook):
        """``hook(grad) -> Tensor or None`` runs each time the gradient with respect to this
        tensor is computed (all paths summed); a returned tensor replaces the gradient. Returns
        a handle whose ``remove()`` unregisters it (``torch.Tensor.register_hook``)."""
        from collections import OrderedDict
        from .utils.hooks import RemovableHandle
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
        fn = self.grad_fn
        if fn is None:
            store = self.__dict__.setdefault("_backward_hooks", OrderedDict())
        else:
            if fn._tensor_hooks is None:
                fn._tensor_hooks = {}
            store = fn._tensor_hooks.setdefault(self._output_nr, OrderedDict())
        return RemovableHandle(store, hook=hook)

    @property
    def retains_grad(self):
        r = getattr(self.grad_fn, "_retained", None) if self.grad_fn is not None else None
        return _pybool(r) and self._output_nr in r and r[self._output_nr]() is self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (``torch.Tensor.backward``)."""
        from .autograd import backward as _backward
        _backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self):
        """The same data, cut from the graph (shares memory and the version counter, like
        PyTorch: an in-place change through it is seen by backward)."""
        out = _make(self._data)
        vc = self._vc
        if vc is None:
            vc = self._vc = [0]
        out._vc = vc
        return out

    def detach_(self):
        if self._view is not None:
            raise RuntimeError("detach_: can't detach views in-place. Use detach() instead.")
        self._grad_fn = None
        self._requires_grad = False
        return self

    def _copy_detached(self):
        return _make(self._data.copy())

    @property
    def data(self):
        return _make(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._device = value._device

    # ------------------------------------------------------------------ conversion
    def numpy(self, force=False):
        if self._requires_grad and not force:
            raise RuntimeError("can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy() instead")
        return backend.to_numpy(self._data)

    def __array__(self, dtype=None, copy=None):
        a = backend.to_numpy(self._data)
        return a if dtype is None else a.astype(dtype)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to a Python number")
        return self._data.reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self._data).tolist()

    def __float__(self):
        return _pyfloat(self.item())

    def __int__(self):
        return _pyint(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return _pyint(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is "
                               "ambiguous")
        return _pybool(self.item())

    def __hash__(self):
        return id(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __repr__(self):
        from .printing import tensor_repr
        return tensor_repr(self)

    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        """``t.to(device)``, ``t.to(dtype)``, ``t.to(other_tensor)`` or both, differentiably."""
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (str, backend.device)):
                device = a
            elif a is not None:
                dtype = a
        out = self
        if device is not None:
            dev = backend.device(device)
            if dev != self._device:
                from .ops.elementwise import to_device
                out = to_device(out, dev)
        if dtype is not None:
            d = backend.as_dtype(dtype)
            if d != out.dtype:
                from .ops.elementwise import cast
                out = cast(out, d)
        if copy and out is self:
            out = self.clone()
        return out

    def long(self):
        return self.to(backend.int64)

    def int(self):
        return self.to(backend.int32)

    def bool(self):
        return self.to(backend.bool_)

    def type(self, dtype=None, non_blocking=False):
        """``x.type()``: the legacy type name ('deltagrad.FloatTensor'); ``x.type(t)`` with a
        dtype, a legacy class (``dg.LongTensor``) or a string ('torch.DoubleTensor'): a
        converted tensor (``self`` when already of that type)."""
        from .legacy import parse_type, type_name
        if dtype is None:
            return type_name(self.dtype, self._device.type)
        d, device = parse_type(dtype)
        return self.to(dtype=d, device=device)

    def type_as(self, other):
        return self.to(other.dtype)

    def __format__(self, format_spec):
        """``f"{loss:.4f}"`` formats a 0-d tensor's number; other tensors accept only an empty
        format (as in PyTorch)."""
        if self._data.ndim == 0:
            return self.item().__format__(format_spec)
        if format_spec:
            raise TypeError(f"unsupported format string {format_spec!r} passed to "
                            f"Tensor.__format__ for a tensor of shape {tuple(self.shape)}; "
                            "format t.item() of a 0-d tensor instead")
        return str(self)

    # ------------------------------------------------------------------ new tensors like self
    def _new_kw(self, dtype, device):
        return dict(dtype=self.dtype if dtype is None else dtype,
                    device=self._device if device is None else device)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """zeros of ``size`` with this tensor's dtype and device (unless given)."""
        return zeros(*size, **self._new_kw(dtype, device), requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return ones(*size, **self._new_kw(dtype, device), requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return empty(*size, **self._new_kw(dtype, device), requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return full(size, fill_value, **self._new_kw(dtype, device), requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A copy of ``data`` with this tensor's dtype and device (unless given)."""
        return tensor(data, **self._new_kw(dtype, device), requires_grad=requires_grad)

    def new(self, *args, device=None):
        """The legacy ``x.new(*sizes)`` / ``x.new(data)``: ``Tensor(...)`` with this tensor's
        dtype and device."""
        from .legacy import legacy_new
        return _make(legacy_new(args, self.dtype, device or self._device, "new"))

    # ------------------------------------------------------------------ in-place shape changes
    def _reshape_inplace(self, result, op):
        """Make this tensor ``result`` (a view of its data with another shape), in the graph."""
        _views.check_inplace(self, op, False, write=False)
        self._data = result._data
        if self._view is not None and result._view is not None:
            self._view = result._view  # the steps from the base now end in the new shape
        if result.grad_fn is not None:
            self.grad_fn = result.grad_fn
            self._output_nr = result._output_nr
        self._version += 1
        return self

    def unsqueeze_(self, dim):
        return self._reshape_inplace(self.unsqueeze(dim), "unsqueeze_")

    def squeeze_(self, dim=None):
        return self._reshape_inplace(self.squeeze() if dim is None else self.squeeze(dim),
                                     "squeeze_")

    def t_(self):
        return self._reshape_inplace(self.t(), "t_")

    def transpose_(self, dim0, dim1):
        return self._reshape_inplace(self.transpose(dim0, dim1), "transpose_")

    swapdims_ = swapaxes_ = transpose_

    # ------------------------------------------------------------------ in-place writes
    def _check_inplace(self, op, recorded=False, target=None):
        """Refuse an in-place op on a leaf that requires grad, a view of one, an expanded
        tensor ... (``autograd.views.check_inplace``)."""
        _views.check_inplace(self, op, recorded, target)

    def _assign(self, result, op):
        """Write ``result`` into this tensor's memory and, if recorded, rebase onto its node
        (through the base's node when this is a view: ``autograd.views.write_inplace``)."""
        r = result._data
        if r.dtype != self._data.dtype:
            if _category(r.dtype) > _category(self._data.dtype):
                raise RuntimeError(f"{op}: result type {r.dtype} can't be cast to the tensor's "
                                   f"dtype {self._data.dtype}")
        if r.shape != self._data.shape:
            raise RuntimeError(f"{op}: output with shape {self._data.shape} doesn't match the "
                               f"broadcast shape {r.shape}")
        return _views.write_inplace(self, result, op)

    def copy_(self, src):
        src = src if isinstance(src, Tensor) else tensor(src)
        from .ops.shape import expand
        if src._device != self._device:
            src = src.to(self._device)
        src = expand(src, self.shape).to(self.dtype)
        return self._assign(src, "copy_")

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if isinstance(value, Tensor):
            if value.ndim:
                raise RuntimeError(f"fill_: only supports a 0-dimension value tensor, but got a "
                                   f"tensor with {value.ndim} dimensions")
            return self.copy_(value)
        if _state.enabled and self.requires_grad:  # recorded: the old value gets no gradient
            xp = backend.array_module(self._data)
            return self._assign(_make(xp.full(self._data.shape, value, self._data.dtype)),
                                "fill_")
        self._check_inplace("fill_")
        self._data[...] = value
        _views.bump_version(self)
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        return self._fill_random("uniform_", lambda r, s: r.uniform(a, b, s), generator)

    def normal_(self, mean=0.0, std=1.0, generator=None):
        return self._fill_random("normal_", lambda r, s: r.normal(mean, std, s), generator)

    def bernoulli_(self, p=0.5, generator=None):
        return self._fill_random("bernoulli_", lambda r, s: r.random(s) < p, generator)

    def random_(self, from_=0, to=None, *, generator=None):
        """Integers uniform on [from, to − 1]; ``random_(to)`` is [0, to − 1]; without ``to``
        [0, 2^mantissa] for floats (every integer the dtype holds exactly), [0, max] else."""
        if to is None and from_ != 0:
            from_, to = 0, from_
        if to is None:
            dt = self._data.dtype
            to = (2 ** (np.finfo(dt).nmant + 1) + 1 if dt.kind in "fV"
                  else 2 if dt == np.bool_ else int(np.iinfo(dt).max) + 1)
        if not from_ < to:
            raise RuntimeError(f"random_: expects 'from' to be less than 'to', but got "
                               f"from={from_} >= to={to}")
        dt = self._data.dtype
        if dt.kind in "biu":
            info = (0, 1) if dt == np.bool_ else (int(np.iinfo(dt).min), int(np.iinfo(dt).max))
            if from_ < info[0]:
                raise RuntimeError(f"random_: from={from_} is out of bounds for {dt}")
            if to - 1 > info[1]:
                raise RuntimeError(f"random_: to - 1 = {to - 1} is out of bounds for {dt}")
        return self._fill_random("random_", lambda r, s: r.integers(from_, to, s), generator)

    def _continuous(self, op, name):
        if self._data.dtype.kind not in "fV":
            raise RuntimeError(f"{op}: the {name} distribution is continuous: the tensor's dtype "
                               f"must be floating point, got {self._data.dtype}")

    def exponential_(self, lambd=1.0, *, generator=None):
        """Exponential with rate λ: density λe^{−λx} on x ≥ 0, mean 1/λ."""
        self._continuous("exponential_", "exponential")
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        return self._fill_random("exponential_", lambda r, s: r.exponential(1.0 / lambd, s),
                                 generator)

    def geometric_(self, p, *, generator=None):
        """Trials until the first success: P(k) = (1 − p)^{k−1} p for k = 1, 2, ..."""
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
        return self._fill_random("geometric_", lambda r, s: r.geometric(p, s), generator)

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        """exp of N(mean, std²) (``mean``/``std`` are those of the logarithm)."""
        self._continuous("log_normal_", "log-normal")
        if not std > 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
        return self._fill_random("log_normal_", lambda r, s: r.lognormal(mean, std, s),
                                 generator)

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        """Cauchy: median + σ·tan(π(u − ½)), u ~ U(0, 1) (no mean; quartiles median ± σ)."""
        self._continuous("cauchy_", "Cauchy")
        if not sigma > 0:
            raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
        return self._fill_random("cauchy_", lambda r, s: median + sigma * r.standard_cauchy(s),
                                 generator)

    def _fill_random(self, op, draw, generator):
        sample = draw(backend.rng(generator), self._data.shape)
        sample = _make(backend.to_device(np.asarray(sample, dtype=self._data.dtype),
                                         self._device))
        return self._assign(sample, op)

    def __setitem__(self, index, value):
        from .ops.indexing import setitem
        setitem(self, index, value)

    def share_memory_(self):
        """Move this CPU tensor's memory into a shared-memory block, so that processes it is
        passed to see each other's in-place updates (``dg.shared_memory``)."""
        from .shared_memory import share
        return share(self)

    def is_shared(self):
        """Whether this tensor's memory is a shared-memory block (``share_memory_``)."""
        from .shared_memory import is_shared
        return is_shared(self)

    def __getstate__(self):
        return {"data": backend.to_numpy(self._data), "requires_grad": self._requires_grad}

    def __setstate__(self, state):
        fresh = _make(state["data"])
        for k in Tensor.__slots__:
            if k not in ("__weakref__", "__dict__"):
                setattr(self, k, getattr(fresh, k))
        self._requires_grad = state["requires_grad"]


class Size(tuple):
    """``tensor.shape``: a tuple of ints (``torch.Size``)."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"deltagrad.Size({list(self)})"


def _index_arg(value, op, name="dim"):
    """``value`` as a Python int, or a TypeError naming the op and argument (bools, floats,
    strings and None are refused, as PyTorch's argument parser does; a 0-d integer tensor
    is its value)."""
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind in "iu":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}"
                        f" ({value!r})")
    return int(value)


def _dim_tuple(dims, op, name="dim"):
    """An int or a list/tuple of ints as a tuple of ints (a TypeError naming the op else)."""
    if isinstance(dims, (list, tuple)):
        return tuple(_index_arg(d, op, name) for d in dims)
    return (_index_arg(dims, op, name),)


def _norm_dim(dim, ndim, op="op"):
    """``dim`` in [−n, n) (n = max(ndim, 1)) as a non-negative axis; the one dim check of
    every reduction and shape op."""
    if type(dim) is not int:  # (the common case skips the checks: bool is not int here)
        dim = _index_arg(dim, op)
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


# ----------------------------------------------------------------------------- dtype rules
def _category(dtype):
    k = dtype.kind
    return 0 if k == "b" else 2 if k in "fc" or backend._is_bfloat16(dtype) else 1


def result_type(*operands):
    """PyTorch's type promotion for tensors and Python scalars.

    Tensors with dimensions decide first; 0-d tensors only when of a higher category
    (bool < integer < floating); Python scalars last, and a Python float never turns a
    float32 tensor into float64 (it only makes integer tensors floating, in the default dtype).
    """
    dims, zero_dims, scalars = [], [], []
    for o in operands:
        if isinstance(o, Tensor):
            (dims if o._data.ndim else zero_dims).append(o._data.dtype)
        elif isinstance(o, (np.ndarray, np.generic)):
            (dims if np.ndim(o) else zero_dims).append(np.asarray(o).dtype)
        else:
            scalars.append(o)
    result = _promote(dims)
    zero = _promote(zero_dims)
    if zero is not None and (result is None or _category(zero) > _category(result)):
        result = zero
    for s in scalars:
        cat = 0 if isinstance(s, _pybool) else 1 if isinstance(s, _pyint) else 2
        if result is None:
            result = (backend.bool_, backend.int64, backend.get_default_dtype())[cat]
        elif cat > _category(result):
            result = backend.int64 if cat == 1 else backend.get_default_dtype()
    return result


def _promote(dtypes):
    result = None
    for d in dtypes:
        if result is None or _category(d) > _category(result):
            result = d
        elif _category(d) == _category(result):
            result = np.promote_types(result, d)
    return result


# ----------------------------------------------------------------------------- creation
def _infer_dtype(data):
    """The dtype PyTorch gives ``torch.tensor(data)``."""
    if isinstance(data, (np.ndarray, np.generic)):
        return data.dtype if data.dtype in backend._SUPPORTED else None
    try:
        arr = np.asarray(data)
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"tensor(): the nested sequences must have one shape (a list of "
                         f"lists of equal length), got {str(data)[:60]}: {e}") from None
    if arr.dtype.kind in "fV":
        return backend.get_default_dtype()
    if arr.dtype.kind in "iu":
        return backend.int64
    if arr.dtype.kind == "b":
        return backend.bool_
    if arr.dtype.kind == "c":
        raise TypeError("complex tensors are not supported")
    return None


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (``torch.tensor``).

    dtype inference follows PyTorch: Python floats -> the default dtype (float32), Python
    ints -> int64, bools -> bool, NumPy arrays keep their dtype (float64 stays float64).
    """
    if isinstance(data, Tensor):
        arr = backend.to_numpy(data._data)
        src_dev = data.device
    elif isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat(data)):
        arr = np.array([np.asarray(d) if isinstance(d, Tensor) else d for d in data])
        src_dev = backend.CPU
    else:
        arr = data
        src_dev = backend.device_of(data) if not isinstance(data, (list, tuple)) else backend.CPU
    if dtype is None:
        inferred = _infer_dtype(arr if src_dev.type == "cpu" else arr)
        if inferred is None:
            raise TypeError(f"tensor(): can't convert data of type "
                            f"{getattr(arr, 'dtype', type(arr).__name__)}; supported dtypes are "
                            "float16/32/64, int8/16/32/64, uint8 and bool")
        d = inferred
    else:
        d = backend.as_dtype(dtype)
    if device is not None:
        dev = backend.device(device)
    else:
        dev = src_dev if src_dev.type != "cpu" else backend.get_default_device()
    xp = backend.xp_for(dev)
    if src_dev.type == "cpu":
        try:
            a = np.array(arr, dtype=d)
        except ValueError as e:
            raise ValueError(f"tensor(): data is not a rectangular array of numbers ({e})") from None
        a = backend.to_device(a, dev)
    else:
        a = backend.to_device(xp.array(arr, dtype=d), dev)
    t = _make(a)
    if requires_grad:
        t.requires_grad = True
    return t


def _flat(data):
    for d in data:
        if isinstance(d, (list, tuple)):
            yield from _flat(d)
        else:
            yield d


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a NumPy array of the right dtype and device."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device) if (dtype or device) else data
    if isinstance(data, np.ndarray) and (dtype is None or backend.as_dtype(dtype) == data.dtype) \
            and backend.device(device or backend.get_default_device()).type == "cpu" \
            and data.dtype in backend._SUPPORTED:
        return _make(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (``torch.from_numpy``)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in backend._SUPPORTED:
        raise TypeError(f"from_numpy: dtype {array.dtype} is not supported")
    return _make(array)


def _shape_args(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (_pyint, np.integer)) or isinstance(s, _pybool):
            raise TypeError(f"{op}(): size must be a tuple of ints, got {size!r}")
        if s < 0:
            raise RuntimeError(f"{op}(): negative dimension {s} in size {size}")
    return tuple(_pyint(s) for s in size)


def _new(op, fill, size, dtype, device, requires_grad):
    shape = _shape_args(size, op)
    d = backend.as_dtype(dtype)
    xp = backend.xp_for(backend.device(device or backend.get_default_device()))
    t = _make(fill(xp, shape, d))
    if requires_grad:
        t.requires_grad = True
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _new("zeros", lambda xp, s, d: xp.zeros(s, d), size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _new("ones", lambda xp, s, d: xp.ones(s, d), size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _new("empty", lambda xp, s, d: xp.empty(s, d), size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if isinstance(fill_value, (Tensor, np.ndarray)) and fill_value.ndim == 0:
        fill_value = fill_value.item()
    if not isinstance(fill_value, (bool, int, float, complex, np.generic)):
        raise TypeError(f"full(): argument 'fill_value' must be a number, got "
                        f"{type(fill_value).__name__} ({fill_value!r})")
    if dtype is None:
        dtype = result_type(fill_value)
    return _new("full", lambda xp, s, d: xp.full(s, fill_value, d), (tuple(size),), dtype,
                device, requires_grad)


def _random(op, draw, size, dtype, device, requires_grad, generator):
    shape = _shape_args(size, op)
    d = backend.as_dtype(dtype)
    a = np.asarray(draw(backend.rng(generator), shape), dtype=d)
    t = _make(backend.to_device(a, backend.device(device or backend.get_default_device())))
    if requires_grad:
        t.requires_grad = True
    return t


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples on [0, 1)."""
    return _random("rand", lambda r, s: r.random(s), size, dtype, device, requires_grad, generator)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    return _random("randn", lambda r, s: r.standard_normal(s), size, dtype, device,
                   requires_grad, generator)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None):
    """Integers uniform on [low, high) (``randint(high, size)`` also accepted)."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"randint(): expected low < high, got low={low}, high={high}")
    return _random("randint", lambda r, s: r.integers(low, high, s), (tuple(size),),
                   dtype or backend.int64, device, False, generator)


def randperm(n, generator=None, dtype=None, device=None):
    a = backend.rng(generator).permutation(_pyint(n)).astype(backend.as_dtype(dtype or "int64"))
    return _make(backend.to_device(a, backend.device(device or backend.get_default_device())))


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    for name, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, float) and not np.isfinite(v):
            raise RuntimeError(f"arange(): {name} must be finite, got {v}")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange(): upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        dtype = result_type(start, end, step)
        if dtype == backend.bool_:
            dtype = backend.int64
    xp = backend.xp_for(backend.device(device or backend.get_default_device()))
    d = backend.as_dtype(dtype)
    if d.kind in "fV":
        n = max(0, _pyint(np.ceil((end - start) / step)))
        a = (start + step * xp.arange(n, dtype=np.float64)).astype(d)
    else:
        a = xp.arange(start, end, step, dtype=d)
    t = _make(a)
    if requires_grad:
        t.requires_grad = True
    return t


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    if _index_arg(steps, "linspace", "steps") < 0:
        raise RuntimeError(f"linspace(): number of steps must be non-negative, got {steps}")
    xp = backend.xp_for(backend.device(device or backend.get_default_device()))
    t = _make(xp.linspace(start, end, _pyint(steps)).astype(backend.as_dtype(dtype)))
    if requires_grad:
        t.requires_grad = True
    return t


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    for name, v in (("n", n), ("m", m)):
        if v is not None and _index_arg(v, "eye", name) < 0:
            raise RuntimeError(f"eye(): {name} must be greater or equal to 0, got {v}")
    xp = backend.xp_for(backend.device(device or backend.get_default_device()))
    t = _make(xp.eye(n, m, dtype=backend.as_dtype(dtype)))
    if requires_grad:
        t.requires_grad = True
    return t


def _like(fn):
    def like(input, dtype=None, device=None, requires_grad=False, **kw):
        return fn(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                  requires_grad=requires_grad, **kw)
    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape, dtype and device of ``input``."
    return like


zeros_like, ones_like, empty_like, rand_like, randn_like = map(
    _like, (zeros, ones, empty, rand, randn))


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def randint_like(input, low, high=None, dtype=None, device=None):
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype,
                   device=device or input.device)


from .autograd import function as _function  # noqa: E402
_function._bind_tensor(Tensor, _make)

from . import ops as _ops  # noqa: E402,F401  (attaches the operation methods to Tensor)
