"""Limited-memory BFGS with an optional strong-Wolfe line search (``torch.optim.LBFGS``).

SYLLABUS §6 ("line search"): instead of a fixed learning rate, each iteration picks a step
length t along a search direction d. L-BFGS builds d = −H_k ∇f from the last ``history_size``
pairs s_i = x_{i+1} − x_i, y_i = ∇f_{i+1} − ∇f_i (the two-loop recursion of Nocedal & Wright,
Algorithm 7.4, with H_0 = (sᵀy / yᵀy) I), and the strong-Wolfe search (Nocedal & Wright,
Algorithms 3.5/3.6, cubic interpolation as in minFunc) finds t with

    f(x + t d) ≤ f(x) + c₁ t ∇fᵀd          (sufficient decrease, c₁ = 1e-4)
    |∇f(x + t d)ᵀd| ≤ c₂ |∇fᵀd|            (curvature, c₂ = 0.9).

The iteration, the stopping tests and the state follow PyTorch's implementation so the
iterates agree step for step. ``step(closure)`` needs a closure that zeroes the gradients,
computes the loss, calls ``backward()`` and returns the loss; one ``step`` runs up to
``max_iter`` iterations and ``max_eval`` closure calls.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor, _make
from .optimizer import Optimizer, check_nonnegative

_STATE_ARRAYS = ("d", "prev_flat_grad")
_STATE_LISTS = ("old_dirs", "old_stps", "ro", "al")


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, f1′=g1) and (x2, f2, g2), clipped to ``bounds``
    (Nocedal & Wright eq. 3.59); the bounds' midpoint when the cubic has no minimiser."""
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square ** 0.5
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, lo), hi)
    return (lo + hi) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Bracketing then zoom (Nocedal & Wright Alg. 3.5/3.6) on φ(t) = f(x + t d).

    ``obj_func(x, t, d)`` returns (f(x + t d), ∇f(x + t d)); returns (f, ∇f, t, evaluations).
    """
    xp = backend.array_module(d)
    d_norm = xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point satisfies both Wolfe conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            # too close to an end of the bracket: move in, unless that already failed
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) \
                    else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    """L-BFGS (``torch.optim.LBFGS``): one parameter group, ``step(closure)`` required.

    lr scales every step (the first iteration's step is min(1, 1/‖g‖₁)·lr); ``max_iter``
    iterations and ``max_eval`` closure calls per ``step`` (default ``max_iter·5/4``);
    stops early when max|g| ≤ ``tolerance_grad`` or the change in loss or parameters falls
    below ``tolerance_change``. ``line_search_fn``: None (fixed step) or ``"strong_wolfe"``.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if isinstance(lr, numbers.Real) and not isinstance(lr, bool):
            check_nonnegative("LBFGS", "lr", "learning rate", lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _check(self, o):
        for name in ("max_iter", "max_eval", "history_size"):
            v = o.get(name)
            if v is not None and (not isinstance(v, numbers.Integral) or isinstance(v, bool)
                                  or v < 1):
                raise ValueError(f"LBFGS option '{name}' must be a positive integer, got {v!r}")
        fn = o.get("line_search_fn")
        if fn not in (None, "strong_wolfe"):
            raise RuntimeError(f"LBFGS: only 'strong_wolfe' is supported as line_search_fn, "
                               f"got {fn!r}")

    # ------------------------------------------------------------------ flat views
    def _xp(self):
        return backend.xp_for(self._params[0]._device)

    def _gather_flat_grad(self):
        xp = self._xp()
        parts = [xp.zeros(p._data.size, dtype=p._data.dtype) if p._grad is None
                 else p._grad._data.reshape(-1) for p in self._params]
        return xp.concatenate(parts)

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += step_size * update[offset:offset + n].reshape(p._data.shape)
            p._version += 1
            offset += n

    def _clone_param(self):
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data):
        for p, pdata in zip(self._params, params_data):
            p._data[...] = pdata
            p._version += 1

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        with enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ------------------------------------------------------------------ the step
    def step(self, closure=None):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call."""
        if closure is None:
            raise RuntimeError("LBFGS.step requires a closure that reevaluates the model and "
                               "returns the loss (step(closure))")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        xp = self._xp()

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        if xp.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        d, t = _raw(state.get("d")), state.get("t")
        old_dirs = [_raw(v) for v in state.get("old_dirs", [])]
        old_stps = [_raw(v) for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = _raw(state.get("prev_flat_grad")), state.get("prev_loss")
        al = [None] * history_size

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                # curvature pair; skipped unless yᵀs > 0 keeps H positive definite
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                # two-loop recursion: d = −H ∇f
                al = [None] * history_size
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(len(old_dirs)):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:     # not a descent direction
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, step, direction):
                    return self._directional_evaluate(closure, x, step, direction)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss,
                                                                   flat_grad, gtd)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    with enable_grad():
                        loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=_wrap(d), t=t, old_dirs=[_wrap(v) for v in old_dirs],
                     old_stps=[_wrap(v) for v in old_stps], ro=ro, H_diag=H_diag,
                     prev_flat_grad=_wrap(prev_flat_grad), prev_loss=prev_loss, al=al)
        self._opt_called = True
        return orig_loss

    def _load_value(self, p, index, name, value):
        """Restore LBFGS's own state (flat vectors and lists of them) as copies."""
        if name in _STATE_ARRAYS:
            return None if value is None else _wrap(_array_for(p, value))
        if name in _STATE_LISTS:
            return [v if v is None or isinstance(v, numbers.Number)
                    else _wrap(_array_for(p, v)) for v in value]
        if isinstance(value, numbers.Number) or value is None:
            return value
        return _array_for(p, value).reshape(())[()]      # t, H_diag: scalars of p's dtype


def _array_for(p, value):
    if isinstance(value, Tensor):
        value = backend.to_numpy(value._data)
    arr = np.array(np.asarray(value), dtype=p.dtype, copy=True)
    return backend.to_device(arr, p._device)


def _wrap(a):
    return None if a is None else _make(a)


def _raw(v):
    return None if v is None else (v._data if isinstance(v, Tensor) else v)
