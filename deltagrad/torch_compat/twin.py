"""One PyTorch program run twice, under PyTorch and under deltagrad, from the same weights,
batches and random draws; the losses compared step by step.

    deltagrad run-torch --twin [--steps N] [--rtol R] script.py [args...]
    python -m deltagrad.torch_compat.twin [--steps N] [--rtol R] script.py [args...]

Two libraries draw different random numbers even under the same seed, so an unchanged program
starts from different weights under each. The twin closes that gap without touching the
program: the first run (real PyTorch, which must be installed) records a *tape*, the second
(``import torch`` resolving to deltagrad) replays it:

- **weights**: each module's ``state_dict`` when the module is first called at top level,
  i.e. after the program's own initialisation; the replay writes it into the deltagrad module
  at the same moment, in place (the optimizer keeps its references);
- **batches**: every item a ``DataLoader`` yields (shuffling, samplers and workers are each
  library's own business; the items are what matters);
- **random draws** the program's own code makes — ``torch.randn/rand/randint/randperm/
  normal/bernoulli/multinomial/poisson``, their ``*_like`` forms, ``Tensor.normal_/uniform_/
  bernoulli_/random_/exponential_/...``, ``nn.init``'s random initialisers — and the masks of
  ``F.dropout``/``dropout1d/2d/3d`` and a distribution's ``sample``/``rsample``, in the order
  the program makes them. Draws made *inside* a library (its layers' default initialisation,
  its samplers) are not taped: they differ between the libraries, and the weights and batches
  above replace what they produce;
- **losses**: the value of every tensor whose ``.backward()`` is called.

After ``steps`` backward calls both runs stop. Dropout that PyTorch draws in C++ is redone in
Python while recording (``F.dropout``, ``dropoutNd``, ``scaled_dot_product_attention``'s
``dropout_p``), as input · mask / (1 − p). Randomness the twin cannot see raises
``TwinUnsupported`` in the recording run rather than letting the runs drift apart silently:
dropout between the layers of a multi-layer ``nn.LSTM/GRU/RNN`` (inside PyTorch's C++ RNN
kernel) and ``rsample`` of a distribution that is not a location-scale family. The script runs twice in the current folder: files it writes
there are written twice, as running it twice by hand would.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import runpy
import subprocess
import sys
import tempfile

import numpy as np

__all__ = ["TwinDiverged", "TwinUnsupported", "TwinStop", "Twin", "TapedTensor", "record",
           "replay", "compare", "main"]

#: module-level random functions taped when the program calls them (where the library has them)
DRAW_FUNCTIONS = ("rand", "randn", "randint", "randperm", "rand_like", "randn_like",
                  "randint_like", "normal", "bernoulli", "multinomial", "poisson")
#: Tensor methods that draw
DRAW_METHODS = ("normal_", "uniform_", "bernoulli_", "random_", "exponential_", "geometric_",
                "cauchy_", "log_normal_", "bernoulli", "multinomial")
#: nn.init functions that draw
INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
                  "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")
#: PyTorch's dropout functions and their feature dimensions (0: one draw per element)
DROPOUTS = {"dropout": 0, "dropout1d": 1, "dropout2d": 2, "dropout3d": 3}


class TwinDiverged(RuntimeError):
    """The replaying run asked for something the recording run did not do at that point."""


class TwinUnsupported(RuntimeError):
    """The program draws random numbers the twin cannot record (see the module docstring)."""


class TwinStop(BaseException):
    """Raised at the backward call after the last compared step; ends both runs. A
    BaseException, so a program's own ``except Exception`` does not swallow it."""


class TapedTensor:
    """A tensor of a taped batch, as a NumPy array (either library rebuilds it)."""

    def __init__(self, array):
        self.array = array


def _map_tree(item, leaf):
    """``leaf`` applied to every non-container of nested lists, tuples (named ones too) and
    dicts, the containers rebuilt."""
    if isinstance(item, dict):
        return {k: _map_tree(v, leaf) for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        values = [_map_tree(v, leaf) for v in item]
        return type(item)(*values) if hasattr(item, "_fields") else type(item)(values)
    return leaf(item)


def _where(frame):
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


class Twin:
    """The hooks of one run: ``lib`` is ``torch`` (``mode='record'``) or ``deltagrad``
    (``mode='replay'``, with the ``tape`` the recording wrote)."""

    def __init__(self, lib, mode, steps, tape=None, perturb=0.0):
        if mode not in ("record", "replay"):
            raise ValueError(f"Twin: mode must be 'record' or 'replay', got {mode!r}")
        if mode == "replay" and tape is None:
            raise ValueError("Twin: replay needs the tape the recording run wrote")
        if mode == "record" and lib.__name__ != "torch":
            raise ValueError("Twin: the recording run is PyTorch's")
        self.lib, self.mode, self.steps, self.perturb = lib, mode, steps, perturb
        self.is_torch = lib.__name__ == "torch"
        self.tape = tape or {"states": [], "batches": [], "draws": [], "losses": []}
        self.position = {k: 0 for k in self.tape}
        self.losses = []          # replay: (step, recorded, replayed, where)
        self.depth = 0            # > 0 inside a library call that draws: nested draws not taped
        self.calls = 0            # > 0 inside a module's forward: not a top-level call
        self.seen_modules, self.seen_params = {}, set()
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.library_dirs = tuple({os.path.dirname(os.path.abspath(lib.__file__)) + os.sep,
                                   package + os.sep})
        self._undo = []

    # --- the tape ------------------------------------------------------------------------
    def _next(self, stream, what):
        entries, i = self.tape[stream], self.position[stream]
        if i >= len(entries):
            raise TwinDiverged(f"twin: the deltagrad run made one more {what} than the PyTorch "
                               f"run recorded ({len(entries)} in all)")
        self.position[stream] = i + 1
        return entries[i]

    def _replayed_draw(self, kind, where):
        """The next taped draw, which must be of the same kind."""
        k, w, values = self._next("draws", f"random draw ({kind} at {where})")
        if k != kind:
            raise TwinDiverged(f"twin: the PyTorch run drew with {k} at {w} where the "
                               f"deltagrad run draws with {kind} at {where}")
        return values

    def _internal(self, frame):
        return frame.f_code.co_filename.startswith(self.library_dirs)

    # --- conversions -----------------------------------------------------------------------
    def _to_numpy(self, t):
        t = t.detach()
        if t.dtype == self.lib.bfloat16:
            raise TwinUnsupported("twin: bfloat16 tensors are not taped")
        return np.array(t.cpu().numpy(), copy=True)

    def _tree_to_numpy(self, item):
        return _map_tree(item, lambda t: TapedTensor(self._to_numpy(t))
                         if isinstance(t, self.lib.Tensor) else t)

    def _tree_from_numpy(self, item):
        return _map_tree(item, lambda t: self.lib.from_numpy(t.array.copy())
                         if isinstance(t, TapedTensor) else t)

    def _overwrite(self, tensor, values, what):
        """Replay: the recorded values into ``tensor`` in place (dtype and shape kept)."""
        values = np.asarray(values)
        if values.size != tensor.numel():
            raise TwinDiverged(f"twin: {what} drew {tensor.numel()} numbers in the replaying "
                               f"run but {values.size} in the recording run")
        with self.lib.no_grad():
            tensor.copy_(self.lib.from_numpy(values.reshape(tuple(tensor.shape)).copy()))
        return tensor

    def _perturbed(self, values):
        """The reference run's weights: each number moved by ``perturb`` relative, in a
        random direction (how far PyTorch itself drifts from 1-ulp-different weights)."""
        if not self.perturb or values.dtype.kind != "f":
            return values
        signs = np.random.default_rng(values.size).choice([-1.0, 1.0], values.shape)
        return (values * (1 + self.perturb * signs)).astype(values.dtype)

    # --- hooks -------------------------------------------------------------------------------
    def _patch(self, owner, name, make, everywhere=False):
        original = getattr(owner, name, None)
        if original is None:
            return
        hooked = make(original)
        places = [(owner, name)]
        if everywhere:  # every module of the library that bound the function by name
            prefix = self.lib.__name__ + "."
            for mod in list(sys.modules.values()):
                if getattr(mod, "__name__", "").startswith(prefix):
                    for k, v in list(vars(mod).items()):
                        if v is original:
                            places.append((mod, k))
        for obj, attr in places:
            self._undo.append((obj, attr, getattr(obj, attr)))
            setattr(obj, attr, hooked)

    def _draw_hook(self, kind):
        twin = self

        def make(original):
            def hooked(*args, **kwargs):
                frame = sys._getframe(1)
                if twin.depth or twin._internal(frame):
                    return original(*args, **kwargs)
                twin.depth += 1
                try:
                    out = original(*args, **kwargs)
                finally:
                    twin.depth -= 1
                where = _where(frame)
                if twin.mode == "record":
                    twin.tape["draws"].append((kind, where, twin._to_numpy(out)))
                    return out
                values = twin._replayed_draw(kind, where)
                return twin._overwrite(out, values, f"{kind} at {where}")
            return hooked
        return make

    def _taped_dropout(self, input, p, shape, where, inplace=False):
        """PyTorch's dropout as input · (keep / (1 − p)) (its own formula, input * (mask /
        (1 − p))) with a keep mask of ``shape`` drawn and taped here (recording) or read from
        the tape (a PyTorch replay)."""
        if self.mode == "record":
            self.depth += 1
            try:
                keep = self.lib.rand(shape) >= p
            finally:
                self.depth -= 1
            self.tape["draws"].append(("dropout", where, keep.numpy().copy()))
        else:
            k, w, values = self._next("draws", f"dropout mask at {where}")
            if k != "dropout" or values.size != int(np.prod(shape)):
                raise TwinDiverged(f"twin: the recording run drew {k} {values.shape} at {w} "
                                   f"where the replaying run draws a dropout mask {shape} at "
                                   f"{where}")
            keep = self.lib.from_numpy(values.reshape(shape).copy())
        scale = keep.to(input.dtype) / (1 - p)
        return input.mul_(scale) if inplace else input * scale

    def _dropout_hook(self, name, nd):
        """Recording: PyTorch's ``F.dropout``/``dropoutNd`` redone by ``_taped_dropout`` (one
        draw per element, or per channel: the leading dimensions PyTorch draws for)."""
        twin = self

        def make(original):
            def hooked(input, p=0.5, training=True, inplace=False):
                if not training or p == 0 or p == 1 or twin.depth or input.numel() == 0:
                    return original(input, p, training, inplace)
                ndim = input.dim()
                lead = {0: ndim, 1: ndim - 1, 2: 2, 3: 2 if ndim == 5 else 1}[nd]
                shape = tuple(input.shape[:lead]) + (1,) * (ndim - lead)
                return twin._taped_dropout(input, p, shape, _where(sys._getframe(1)), inplace)
            return hooked
        return make

    def _sdpa_hook(self):
        """Recording: ``scaled_dot_product_attention`` with dropout (PyTorch draws its mask
        in C++) redone as softmax(Q Kᵀ · scale + M) with a taped dropout, then · V."""
        twin, lib = self, self.lib

        def make(original):
            def hooked(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                       scale=None, enable_gqa=False):
                if not dropout_p or twin.depth:
                    return original(query, key, value, attn_mask, dropout_p, is_causal,
                                    scale=scale, enable_gqa=enable_gqa)
                if enable_gqa:
                    raise TwinUnsupported("twin: scaled_dot_product_attention with dropout "
                                          "and enable_gqa=True")
                L, S = query.size(-2), key.size(-2)
                scale = query.size(-1) ** -0.5 if scale is None else scale
                scores = query @ key.transpose(-2, -1) * scale
                if is_causal:
                    attn_mask = lib.ones(L, S, dtype=lib.bool, device=query.device).tril()
                if attn_mask is not None and attn_mask.dtype == lib.bool:
                    scores = scores.masked_fill(~attn_mask, float("-inf"))
                elif attn_mask is not None:
                    scores = scores + attn_mask
                weights = lib.softmax(scores, dim=-1)
                weights = twin._taped_dropout(weights, dropout_p, tuple(weights.shape),
                                              _where(sys._getframe(1)))
                return weights @ value
            return hooked
        return make

    def _keep_mask_hook(self, signature, transposed=False):
        """Replaying: deltagrad's dropout masks (``ops.dropout._keep_mask(x, p, generator,
        shape)``, ``ops.attention._keep_mask(shape, p, dtype, device)``) from the tape; the
        attention mask is drawn key-major (…, S, L), PyTorch's query-major (…, L, S)."""
        twin = self

        def make(original):
            def hooked(*args, **kwargs):
                if twin.depth:
                    return original(*args, **kwargs)
                out = original(*args, **kwargs)  # the shape, dtype and device deltagrad wants
                _, w, keep = twin._next("draws", f"dropout mask ({signature})")
                if keep.dtype != np.bool_ or keep.size != out.size:
                    raise TwinDiverged(f"twin: deltagrad draws a dropout mask of shape "
                                       f"{out.shape} where the PyTorch run drew {keep.dtype} "
                                       f"{keep.shape} at {w}")
                from .. import backend
                if transposed:
                    keep = keep.reshape(out.shape[:-2] + out.shape[:-3:-1]).swapaxes(-1, -2)
                return backend.to_device(keep.reshape(out.shape).astype(out.dtype),
                                         backend.device_of(out))
            return hooked
        return make

    def _sample_hook(self, method):
        """``Distribution.sample``/``rsample``: the draw is taped as a whole (nested draws are
        the library's own); ``rsample`` of a location-scale family tapes ε = (x − loc)/scale
        and replays loc + scale·ε, so gradients reach loc and scale as they should."""
        twin = self

        def make(original):
            def hooked(dist, *args, **kwargs):
                if twin.depth or (method == "rsample" and hasattr(dist, "base_dist")):
                    return original(dist, *args, **kwargs)  # Independent: its base draws
                located = method == "rsample"
                if located and not (hasattr(dist, "loc") and hasattr(dist, "scale")):
                    raise TwinUnsupported(f"twin: rsample of {type(dist).__name__} (only "
                                          "location-scale families, e.g. Normal, are taped)")
                kind = f"{type(dist).__name__}.{method}"
                where = _where(sys._getframe(1))
                twin.depth += 1
                try:
                    out = original(dist, *args, **kwargs)
                finally:
                    twin.depth -= 1
                if twin.mode == "record":
                    value = (out - dist.loc) / dist.scale if located else out
                    twin.tape["draws"].append((kind, where, twin._to_numpy(value)))
                    return out
                values = twin._replayed_draw(kind, where)
                if not located:
                    return twin._overwrite(out, values, f"{kind} at {where}")
                eps = twin._overwrite(out.detach().clone(), values, f"{kind} at {where}")
                return dist.loc + dist.scale * eps
            return hooked
        return make

    def _loader_hook(self):
        twin = self

        def make(original):
            def hooked(loader):
                twin.depth += 1
                try:
                    it = original(loader)
                finally:
                    twin.depth -= 1
                return twin._batches(it)
            return hooked
        return make

    def _batches(self, it):
        while True:
            self.depth += 1
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                self.depth -= 1
            if self.mode == "record":
                self.tape["batches"].append(self._tree_to_numpy(item))
                yield item
            elif self.position["batches"] < len(self.tape["batches"]):
                yield self._tree_from_numpy(self._next("batches", "batch"))
            else:
                yield item  # the recording stopped earlier: the library's own batch

    def _module_hook(self):
        twin = self

        def make(original):
            def hooked(module, *args, **kwargs):
                if twin.calls == 0:
                    twin._first_call(module)
                twin.calls += 1
                try:
                    return original(module, *args, **kwargs)
                finally:
                    twin.calls -= 1
            return hooked
        return make

    def _first_call(self, module):
        if id(module) in self.seen_modules:
            return
        self.seen_modules[id(module)] = module
        params = dict(module.named_parameters())
        fresh = [n for n, p in params.items() if id(p) not in self.seen_params]
        self.seen_params.update(id(p) for p in params.values())
        if params and not fresh:
            return  # a part of a module already taped
        rnn = (self.lib.nn.RNN, self.lib.nn.LSTM, self.lib.nn.GRU)
        for m in module.modules():
            if isinstance(m, rnn) and m.training and m.num_layers > 1 and m.dropout > 0:
                raise TwinUnsupported(f"twin: {type(m).__name__}(num_layers={m.num_layers}, "
                                      f"dropout={m.dropout}) drops out between its layers "
                                      "inside PyTorch's C++ kernel, which cannot be taped; "
                                      "run with dropout=0")
        self._state(type(module).__name__, module.state_dict(keep_vars=True), params)

    def _state(self, name, state, params):
        """Tape (or write back) ``state`` ({name: tensor}) of a module or an optimizer."""
        if not state:
            return
        if self.mode == "record":
            self.tape["states"].append((name, sorted(params),
                                        {k: self._to_numpy(v) for k, v in state.items()}))
            return
        torch_name, torch_params, values = self._next("states", f"state of {name}")
        missing = sorted(set(torch_params) - set(params))
        extra = sorted(set(params) - set(torch_params))
        if missing or extra:
            raise TwinDiverged(f"twin: module {name} has parameters {extra} that PyTorch's "
                               f"{torch_name} lacks and lacks {missing}")
        for key, tensor in state.items():
            if key in values:
                if tuple(values[key].shape) != tuple(tensor.shape):
                    raise TwinDiverged(f"twin: {name}.{key} has shape {tuple(tensor.shape)} "
                                       f"under deltagrad, {values[key].shape} under PyTorch")
                self._overwrite(tensor, self._perturbed(values[key]), f"{name}.{key}")

    def _optimizer_hook(self):
        """An optimizer's parameters as it is built (a model never called through
        ``__call__``, e.g. layers trained by their own methods, still starts alike)."""
        twin = self

        def make(original):
            def hooked(optimizer, *args, **kwargs):
                original(optimizer, *args, **kwargs)
                if twin.depth:
                    return
                params = [p for g in optimizer.param_groups for p in g["params"]]
                state = {str(i): p for i, p in enumerate(params)}
                twin._state(type(optimizer).__name__, state, state)
            return hooked
        return make

    def _backward_hook(self):
        twin = self

        def make(original):
            def hooked(tensor, *args, **kwargs):
                step = len(twin.losses) if twin.mode == "replay" else len(twin.tape["losses"])
                if twin.steps and step >= twin.steps:
                    raise TwinStop()
                value = float(tensor.detach().double().sum().item())
                where = _where(sys._getframe(1))
                if twin.mode == "record":
                    twin.tape["losses"].append((value, where))
                else:
                    recorded, w = twin._next("losses", "backward call")
                    twin.losses.append((step, recorded, value, where))
                return original(tensor, *args, **kwargs)
            return hooked
        return make

    def install(self):
        lib = self.lib
        F, init = lib.nn.functional, lib.nn.init
        for name in DRAW_FUNCTIONS:
            self._patch(lib, name, self._draw_hook(name), everywhere=True)
        for name in DRAW_METHODS:
            self._patch(lib.Tensor, name, self._draw_hook("Tensor." + name))
        for name in INIT_FUNCTIONS:
            self._patch(init, name, self._draw_hook("init." + name), everywhere=True)
        if self.is_torch:
            for name, nd in DROPOUTS.items():
                self._patch(F, name, self._dropout_hook(name, nd), everywhere=True)
            self._patch(F, "scaled_dot_product_attention", self._sdpa_hook(), everywhere=True)
        else:
            from ..ops import attention, dropout
            self._patch(dropout, "_keep_mask", self._keep_mask_hook("x, p"), everywhere=True)
            self._patch(attention, "_keep_mask", self._keep_mask_hook("attention", True),
                        everywhere=True)
        distributions = lib.distributions
        classes = {c for c in vars(distributions).values()
                   if isinstance(c, type) and issubclass(c, distributions.Distribution)}
        for cls in classes:
            for method in ("sample", "rsample"):
                if method in vars(cls):
                    self._patch(cls, method, self._sample_hook(method))
        self._patch(lib.utils.data.DataLoader, "__iter__", self._loader_hook())
        self._patch(lib.nn.Module, "__call__", self._module_hook())
        self._patch(lib.optim.Optimizer, "__init__", self._optimizer_hook())
        self._patch(lib.Tensor, "backward", self._backward_hook())
        return self

    def uninstall(self):
        for obj, attr, original in reversed(self._undo):
            setattr(obj, attr, original)
        self._undo.clear()

    def summary(self, rtol):
        """Replay: per step the two losses and their relative difference."""
        rows = [{"step": s, "torch": a, "deltagrad": b, "where": w,
                 "relative_difference": abs(b - a) / max(abs(a), 1e-12)}
                for s, a, b, w in self.losses]
        worst = max((r["relative_difference"] for r in rows), default=float("nan"))
        unused = {k: len(v) - self.position[k] for k, v in self.tape.items()
                  if k != "losses" and len(v) > self.position[k]}
        return {"steps_compared": len(rows), "steps_recorded": len(self.tape["losses"]),
                "max_relative_difference": worst, "rtol": rtol,
                "equal": bool(rows) and worst <= rtol
                and len(rows) == len(self.tape["losses"]),
                "taped": {k: len(v) for k, v in self.tape.items()},
                "unreplayed": unused, "losses": rows}


def _run(path, argv, seed):
    """The script as ``__main__`` with its folder first on sys.path; Python's and NumPy's
    global generators seeded alike in both runs."""
    random.seed(seed)
    np.random.seed(seed)
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        runpy.run_path(path, run_name="__main__")
    except TwinStop:
        pass
    except SystemExit as e:
        if e.code not in (None, 0):
            raise
    finally:
        sys.argv, sys.path[:] = old_argv, old_path


def record(script, argv, tape_path, steps=10, seed=0):
    """Run ``script`` under real PyTorch and write the tape to ``tape_path``."""
    try:
        import torch
    except ImportError:
        raise ImportError("twin: the recording run needs PyTorch installed (pip install "
                          "torch); deltagrad itself never does") from None
    if type(torch).__name__ == "TorchAlias":
        raise RuntimeError("twin: 'torch' is deltagrad in this process; the recording run "
                           "needs the real PyTorch")
    twin = Twin(torch, "record", steps).install()
    try:
        _run(script, argv, seed)
    finally:
        twin.uninstall()
        tmp = tape_path + ".partial"
        with open(tmp, "wb") as f:
            pickle.dump(twin.tape, f)
        os.replace(tmp, tape_path)
    return twin.tape


#: the reference run's relative weight perturbation: one float32 ulp (2⁻²³)
ULP = 2.0 ** -23
#: a step agrees when deltagrad's difference is at most this many times PyTorch's own drift
DRIFT_FACTOR = 10.0


def replay(script, argv, tape_path, steps=10, seed=0, rtol=1e-4, library="deltagrad",
           perturb=0.0):
    """Run ``script`` replaying the tape, with ``import torch`` resolving to deltagrad (or,
    ``library='torch'``, under PyTorch itself: with ``perturb`` the reference run whose
    weights are moved by that much); returns ``Twin.summary``."""
    with open(tape_path, "rb") as f:
        tape = pickle.load(f)  # the file the recording run of this same command just wrote
    if library == "torch":
        import torch
        twin = Twin(torch, "replay", steps, tape, perturb).install()
        try:
            _run(script, argv, seed)
        finally:
            twin.uninstall()
        return twin.summary(rtol)
    import deltagrad
    from . import torch_is_deltagrad
    twin = Twin(deltagrad, "replay", steps, tape, perturb).install()
    try:
        with torch_is_deltagrad():
            _run(script, argv, seed)
    finally:
        twin.uninstall()
    return twin.summary(rtol)


def compare(script, argv=(), steps=10, rtol=1e-4, seed=0, report=None, env=None,
            stdout=None, cwd=None, timeout=None, reference=True):
    """The recording run (PyTorch), the replaying run (deltagrad) and, with ``reference``,
    PyTorch replaying the tape from weights one ulp away (how far PyTorch drifts from
    itself: a measure of how chaotic the training is), each in a fresh process in the
    current folder (or ``cwd``). Returns the summary, also written as JSON to ``report``."""
    if not os.path.isfile(os.path.join(cwd or ".", script)):
        raise FileNotFoundError(f"twin: no such script: {script!r}")
    runs = [("record", "PyTorch (recording)", []),
            ("replay", "deltagrad (replaying)", ["--report", "deltagrad.json"])]
    if reference:
        runs.append(("replay", "PyTorch (replaying, weights 1 ulp away)",
                     ["--report", "reference.json", "--library", "torch",
                      "--perturb", repr(ULP)]))
    with tempfile.TemporaryDirectory(prefix="deltagrad-twin-") as tmp:
        common = ["--steps", str(steps), "--seed", str(seed), "--rtol", str(rtol),
                  "--tape", os.path.join(tmp, "tape.pkl")]
        for mode, who, extra in runs:
            extra = [os.path.join(tmp, e) if e.endswith(".json") else e for e in extra]
            cmd = [sys.executable, "-m", "deltagrad.torch_compat.twin", "--mode", mode,
                   *common, *extra, script, *argv]
            proc = subprocess.run(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE,
                                  text=True, cwd=cwd, timeout=timeout)
            if proc.returncode:
                raise RuntimeError(f"twin: the {who} run failed:\n{proc.stderr[-3000:]}")
        with open(os.path.join(tmp, "deltagrad.json")) as f:
            result = json.load(f)
        if reference:
            with open(os.path.join(tmp, "reference.json")) as f:
                _add_reference(result, json.load(f), rtol)
    if report:
        with open(report, "w") as f:
            json.dump(result, f, indent=1)
    return result


def _add_reference(result, ref, rtol):
    """Per step, PyTorch's own drift (its loss from weights 1 ulp away), and whether
    deltagrad's difference stays within max(rtol, DRIFT_FACTOR × the drift so far)."""
    drift, agrees = 0.0, bool(result["losses"])
    for row, r in zip(result["losses"], ref["losses"]):
        row["pytorch_drift"] = r["relative_difference"]
        drift = max(drift, r["relative_difference"])
        agrees &= row["relative_difference"] <= max(rtol, DRIFT_FACTOR * drift)
    result["pytorch_drift"] = ref["max_relative_difference"]
    result["within_pytorch_drift"] = agrees and len(ref["losses"]) == len(result["losses"])


def format_summary(result) -> str:
    drift = "pytorch_drift" in result
    lines = [f"{'step':>5} {'PyTorch':>14} {'deltagrad':>14} {'rel. diff':>10}"
             + (f" {'PyTorch drift':>13}" if drift else "") + "  where"]
    for r in result["losses"]:
        lines.append(f"{r['step']:>5} {r['torch']:>14.7g} {r['deltagrad']:>14.7g} "
                     f"{r['relative_difference']:>10.2e}"
                     + (f" {r.get('pytorch_drift', float('nan')):>13.2e}" if drift else "")
                     + f"  {r['where']}")
    verdict = "equal" if result["equal"] else "NOT equal"
    lines.append(f"{result['steps_compared']} of {result['steps_recorded']} steps compared; "
                 f"largest relative difference {result['max_relative_difference']:.2e} "
                 f"(rtol {result['rtol']:g}): {verdict}")
    if drift:
        lines.append(f"PyTorch against itself from weights 1 ulp away: largest relative "
                     f"difference {result['pytorch_drift']:.2e}; deltagrad "
                     + ("stays within" if result["within_pytorch_drift"] else "goes beyond")
                     + f" max(rtol, {DRIFT_FACTOR:g} x that drift)")
    return "\n".join(lines)


def main(argv=None, prog="python -m deltagrad.torch_compat.twin") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a PyTorch program under PyTorch and under deltagrad from the same "
                    "weights, batches and random draws; compare the losses step by step.")
    parser.add_argument("--steps", type=int, default=10,
                        help="backward calls compared; both runs stop after them (0: all)")
    parser.add_argument("--rtol", type=float, default=1e-4,
                        help="largest relative loss difference counted as equal")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of Python's and NumPy's global generators in both runs")
    parser.add_argument("--report", help="write the comparison as JSON here")
    parser.add_argument("--mode", choices=("both", "record", "replay"), default="both",
                        help=argparse.SUPPRESS)
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip the third run (PyTorch from weights 1 ulp away) that "
                             "measures how far PyTorch drifts from itself")
    parser.add_argument("--tape", help=argparse.SUPPRESS)
    parser.add_argument("--library", choices=("deltagrad", "torch"), default="deltagrad",
                        help=argparse.SUPPRESS)
    parser.add_argument("--perturb", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    a = parser.parse_args(argv)
    if a.steps < 0:
        parser.error(f"--steps must be >= 0, got {a.steps}")
    if not a.rtol >= 0:
        parser.error(f"--rtol must be >= 0, got {a.rtol}")
    if not os.path.isfile(a.script):
        parser.error(f"no such script: {a.script!r}")
    if a.mode == "record":
        record(a.script, a.args, a.tape, a.steps, a.seed)
        return 0
    if a.mode == "replay":
        result = replay(a.script, a.args, a.tape, a.steps, a.seed, a.rtol, a.library,
                        a.perturb)
        with open(a.report, "w") as f:
            json.dump(result, f, indent=1)
        return 0
    import importlib.util
    if importlib.util.find_spec("torch") is None:
        parser.error("the twin's recording run needs PyTorch installed (pip install torch); "
                     "deltagrad itself never does")
    try:
        result = compare(a.script, a.args, a.steps, a.rtol, a.seed, a.report,
                         reference=a.reference)
    except RuntimeError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    print(format_summary(result))
    return 0 if result["equal"] or result.get("within_pytorch_drift") else 1


if __name__ == "__main__":
    sys.exit(main())
