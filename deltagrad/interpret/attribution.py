"""Attribution: how much each input pixel contributes to one output of a model.

Seed 003, "Ways to visualize and interpret a CNN": occlusion experiments (grey out a patch,
watch the class probability), gradients of a neuron with respect to each input pixel
(saliency), and guided backpropagation (only positive gradients flow back through ReLUs).
Class names and ``.attribute(inputs, target=...)`` signatures follow Captum, so code written
for Captum runs with ``dg.interpret`` in its place.

``target`` picks the output that is explained: an int (the same class for every example), a
sequence or integer tensor of one class per example, or None when the model returns one
number per example.
"""
from __future__ import annotations

import contextlib
import numbers

import numpy as np

from .. import autograd
from ..nn.module import Module
from ..ops import elementwise
from ..ops.pooling import interpolate
from ..tensor import Tensor, as_tensor


# ---------------------------------------------------------------------------- shared pieces
def _check_input(inputs, method):
    if not isinstance(inputs, Tensor):
        raise TypeError(f"{method}.attribute: inputs must be a Tensor, got {type(inputs).__name__}")
    if not inputs.is_floating_point():
        raise TypeError(f"{method}.attribute: inputs must be floating point, got {inputs.dtype}")
    if inputs.ndim < 1 or inputs.shape[0] == 0:
        raise ValueError(f"{method}.attribute: inputs must have a non-empty batch dimension, "
                         f"got shape {tuple(inputs.shape)}")
    return inputs


def _forward(forward_func, inputs, additional_forward_args):
    extra = additional_forward_args
    if extra is None:
        extra = ()
    elif not isinstance(extra, tuple):
        extra = (extra,)
    return forward_func(inputs, *extra)


def select_target(output, target, method="attribute"):
    """The explained output of every example, shape (N,): ``output[i, target_i]``."""
    n = output.shape[0]
    if target is None:
        if output.ndim == 1:
            return output
        if output.ndim == 2 and output.shape[1] == 1:
            return output[:, 0]
        raise ValueError(f"{method}: the model returns {tuple(output.shape[1:])} outputs per "
                         "example; pass target=<class index> to say which one to explain")
    if output.ndim != 2:
        raise ValueError(f"{method}: target needs a model output of shape (N, classes), got "
                         f"{tuple(output.shape)}")
    k = output.shape[1]
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        idx = np.full(n, int(target))
    else:
        idx = np.asarray(target.detach().numpy() if isinstance(target, Tensor) else target)
        if idx.dtype.kind not in "iu" or idx.shape != (n,):
            raise ValueError(f"{method}: target must be an int or {n} integer class indices (one "
                             f"per example), got {target!r}")
    bad = idx[(idx < 0) | (idx >= k)]
    if bad.size:
        raise IndexError(f"{method}: target class {int(bad[0])} is out of range for a model "
                         f"with {k} outputs (expected 0 <= target < {k})")
    return output[np.arange(n), idx.astype(np.int64)]


def input_gradient(forward_func, inputs, target=None, additional_forward_args=None,
                   method="attribute"):
    """∂ output_target / ∂ inputs for every example (the examples' outputs are summed: each
    example's output depends on its own input only)."""
    x = inputs.detach().requires_grad_(True)
    score = select_target(_forward(forward_func, x, additional_forward_args), target, method)
    grad, = autograd.grad(score.sum(), [x])
    return grad


@contextlib.contextmanager
def relu_backward_rule(rule):
    """Replace ReLU's backward (``nn.ReLU``, in place or not, and ``F.relu``) inside the block.

    ``rule(g, out)`` gets the gradient at the ReLU's output and the output itself."""
    previous = elementwise.relu_backward_rule[0]
    elementwise.relu_backward_rule[0] = rule
    try:
        yield
    finally:
        elementwise.relu_backward_rule[0] = previous


def _guided(g, out):
    """Guided backpropagation: a gradient passes where the input and the gradient are > 0."""
    return g.clamp(min=0) * (out > 0)


def _deconv(g, out):
    """Deconvnet (Zeiler & Fergus): the ReLU of the gradient, whatever the forward input."""
    return g.clamp(min=0)


class _Attribution:
    def __init__(self, forward_func):
        if not callable(forward_func):
            raise TypeError(f"{type(self).__name__}: forward_func must be a model or callable, "
                            f"got {type(forward_func).__name__}")
        self.forward_func = forward_func


# ---------------------------------------------------------------------------- gradients
class Saliency(_Attribution):
    """Saliency map (Simonyan et al. 2014): |∂S_c/∂I|, the magnitude of the class score's
    gradient with respect to each input pixel (``abs=False`` keeps the sign)."""

    def attribute(self, inputs, target=None, abs=True, additional_forward_args=None):
        _check_input(inputs, "Saliency")
        grad = input_gradient(self.forward_func, inputs, target, additional_forward_args,
                              "Saliency.attribute")
        return grad.abs() if abs else grad


class GuidedBackprop(_Attribution):
    """Guided backpropagation (Springenberg et al. 2015; seed 003): the input gradient with every
    ReLU passing back only positive gradients at positive inputs."""

    _rule = staticmethod(_guided)

    def __init__(self, model):
        super().__init__(model)
        self.model = model

    def attribute(self, inputs, target=None, additional_forward_args=None):
        _check_input(inputs, type(self).__name__)
        with relu_backward_rule(self._rule):
            return input_gradient(self.model, inputs, target, additional_forward_args,
                                  f"{type(self).__name__}.attribute")


class Deconvolution(GuidedBackprop):
    """Deconvnet attributions (Zeiler & Fergus 2014): ReLUs pass back the positive part of the
    gradient, whatever their forward input."""

    _rule = staticmethod(_deconv)


class IntegratedGradients(_Attribution):
    """Integrated gradients (Sundararajan et al. 2017):
    IGᵢ(x) = (xᵢ − x′ᵢ) ∫₀¹ ∂F(x′ + α(x − x′))/∂xᵢ dα, the integral by an n-point rule.

    Completeness: Σᵢ IGᵢ = F(x) − F(x′) up to the quadrature error, returned as the
    convergence delta when ``return_convergence_delta=True``.
    """

    def __init__(self, forward_func, multiply_by_inputs=True):
        super().__init__(forward_func)
        self.multiply_by_inputs = multiply_by_inputs

    @staticmethod
    def _alphas(n_steps, method):
        if method == "gausslegendre":
            x, w = np.polynomial.legendre.leggauss(n_steps)
            return 0.5 * (x + 1), 0.5 * w
        if method.startswith("riemann_"):
            kind = method[len("riemann_"):]
            if kind == "trapezoid":
                alphas = np.linspace(0, 1, n_steps)
                w = np.full(n_steps, 1.0 / (n_steps - 1))
                w[0] = w[-1] = 0.5 / (n_steps - 1)
                return alphas, w
            offset = {"left": 0.0, "right": 1.0, "middle": 0.5}.get(kind)
            if offset is not None:
                return (np.arange(n_steps) + offset) / n_steps, np.full(n_steps, 1.0 / n_steps)
        raise ValueError(f"IntegratedGradients: unknown method {method!r}; expected "
                         "'gausslegendre', 'riemann_left', 'riemann_right', 'riemann_middle' "
                         "or 'riemann_trapezoid'")

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  n_steps=50, method="gausslegendre", internal_batch_size=None,
                  return_convergence_delta=False):
        _check_input(inputs, "IntegratedGradients")
        if not isinstance(n_steps, numbers.Integral) or n_steps < (2 if method ==
                                                                    "riemann_trapezoid" else 1):
            raise ValueError(f"IntegratedGradients: n_steps must be a positive integer (>= 2 for "
                             f"the trapezoid rule), got {n_steps!r}")
        alphas, weights = self._alphas(int(n_steps), method)
        x = inputs.detach()
        base = _baseline(baselines, x, "IntegratedGradients")
        diff = x - base
        total = None
        n = x.shape[0]
        chunk = max(1, (internal_batch_size or n * len(alphas)) // n)
        for lo in range(0, len(alphas), chunk):
            a = alphas[lo:lo + chunk]
            scaled = base.unsqueeze(0) + as_tensor(a.astype(x.numpy().dtype)).reshape(
                (len(a),) + (1,) * x.ndim) * diff.unsqueeze(0)
            scaled = scaled.reshape((len(a) * n,) + tuple(x.shape[1:]))
            tgt = target if not _per_example(target) else np.tile(_as_index(target), len(a))
            extra = _repeat_args(additional_forward_args, len(a))
            g = input_gradient(self.forward_func, scaled, tgt, extra,
                               "IntegratedGradients.attribute")
            g = g.reshape((len(a), n) + tuple(x.shape[1:]))
            w = as_tensor(weights[lo:lo + chunk].astype(x.numpy().dtype)).reshape(
                (len(a),) + (1,) * x.ndim)
            part = (g * w).sum(0)
            total = part if total is None else total + part
        attributions = total * diff if self.multiply_by_inputs else total
        if not return_convergence_delta:
            return attributions
        with autograd.no_grad():
            f_x = select_target(_forward(self.forward_func, x, additional_forward_args), target)
            f_b = select_target(_forward(self.forward_func, base, additional_forward_args),
                                target)
        delta = attributions.reshape(n, -1).sum(1) - (f_x - f_b)
        return attributions, delta


def _per_example(target):
    return target is not None and not isinstance(target, numbers.Integral)


def _as_index(target):
    return np.asarray(target.detach().numpy() if isinstance(target, Tensor) else target)


def _repeat_args(args, times):
    if args is None:
        return None
    args = args if isinstance(args, tuple) else (args,)
    return tuple(a.repeat(*((times,) + (1,) * (a.ndim - 1))) if isinstance(a, Tensor) else a
                 for a in args)


def _baseline(baselines, x, method):
    if baselines is None:
        return x * 0
    if isinstance(baselines, numbers.Real):
        return x * 0 + float(baselines)
    b = baselines if isinstance(baselines, Tensor) else as_tensor(np.asarray(baselines))
    b = b.detach().to(x.dtype)
    try:
        return (x * 0 + b)
    except (ValueError, RuntimeError) as e:
        raise ValueError(f"{method}: baselines of shape {tuple(b.shape)} do not broadcast to "
                         f"the inputs' shape {tuple(x.shape)}") from e


class NoiseTunnel:
    """SmoothGrad (Smilkov et al. 2017): the attribution averaged over noisy copies
    x + ε, ε ~ N(0, σ²); ``smoothgrad_sq`` averages its square, ``vargrad`` takes its variance."""

    def __init__(self, attribution_method):
        if not hasattr(attribution_method, "attribute"):
            raise TypeError("NoiseTunnel: expected an attribution method (an object with "
                            f".attribute), got {type(attribution_method).__name__}")
        self.attribution_method = attribution_method

    def attribute(self, inputs, nt_type="smoothgrad", nt_samples=5, nt_samples_batch_size=None,
                  stdevs=1.0, draw_baseline_from_distrib=False, **kwargs):
        _check_input(inputs, "NoiseTunnel")
        if nt_type not in ("smoothgrad", "smoothgrad_sq", "vargrad"):
            raise ValueError(f"NoiseTunnel: nt_type must be 'smoothgrad', 'smoothgrad_sq' or "
                             f"'vargrad', got {nt_type!r}")
        if not isinstance(nt_samples, numbers.Integral) or nt_samples < 1:
            raise ValueError(f"NoiseTunnel: nt_samples must be a positive integer, got "
                             f"{nt_samples!r}")
        if stdevs < 0:
            raise ValueError(f"NoiseTunnel: stdevs must be >= 0, got {stdevs}")
        from ..tensor import randn_like
        x = inputs.detach()
        total = total_sq = None
        for _ in range(int(nt_samples)):
            a = self.attribution_method.attribute(x + randn_like(x) * stdevs, **kwargs)
            total = a if total is None else total + a
            sq = a * a
            total_sq = sq if total_sq is None else total_sq + sq
        mean, mean_sq = total / nt_samples, total_sq / nt_samples
        if nt_type == "smoothgrad":
            return mean
        if nt_type == "smoothgrad_sq":
            return mean_sq
        return mean_sq - mean * mean


# ---------------------------------------------------------------------------- layers
def _module_in(model, layer, method):
    if not isinstance(layer, Module):
        raise TypeError(f"{method}: layer must be an nn.Module, got {type(layer).__name__}")
    if isinstance(model, Module) and not any(m is layer for m in model.modules()):
        raise ValueError(f"{method}: layer {type(layer).__name__} is not a submodule of the "
                         f"model {type(model).__name__}")


def layer_activation(forward_func, layer, inputs, additional_forward_args=None,
                     attribute_to_layer_input=False, method="layer"):
    """Run the model and return (output, the layer's output or first input).

    The rest of the model runs on a copy of the captured tensor, so an in-place operation after
    the layer (``nn.ReLU(inplace=True)``) cannot change the captured values or their gradient:
    Grad-CAM of a conv layer stays the conv layer's, in place or not."""
    _module_in(forward_func, layer, method)
    seen = []

    def hook(module, args, out):
        seen.append(args[0] if attribute_to_layer_input else out)
        return None if attribute_to_layer_input else out.clone()

    handle = layer.register_forward_hook(hook)
    try:
        out = _forward(forward_func, inputs, additional_forward_args)
    finally:
        handle.remove()
    if not seen:
        raise ValueError(f"{method}: layer {type(layer).__name__} was not called in the "
                         "model's forward pass")
    if len(seen) > 1:
        raise ValueError(f"{method}: layer {type(layer).__name__} was called {len(seen)} times "
                         "in one forward pass; attribute to a layer used once")
    return out, seen[0]


class LayerAttribution:
    @staticmethod
    def interpolate(layer_attribution, interpolate_dims, interpolate_mode="nearest"):
        """Resize a layer's attribution map to the input's spatial size."""
        return interpolate(layer_attribution, size=tuple(interpolate_dims),
                           mode=interpolate_mode)


class LayerGradCam(_Attribution, LayerAttribution):
    """Grad-CAM (Selvaraju et al. 2017): with A^k the layer's feature maps and
    α_k = mean_{i,j} ∂y^c/∂A^k_{ij}, the map is Σ_k α_k A^k (ReLU'd when
    ``relu_attributions=True``), at the layer's resolution, shape (N, 1, H, W)."""

    def __init__(self, forward_func, layer, device_ids=None):
        super().__init__(forward_func)
        self.layer = layer

    def attribute(self, inputs, target=None, additional_forward_args=None,
                  attribute_to_layer_input=False, relu_attributions=False,
                  attr_dim_summation=True):
        _check_input(inputs, "LayerGradCam")
        x = inputs.detach().requires_grad_(True)
        out, act = layer_activation(self.forward_func, self.layer, x, additional_forward_args,
                                    attribute_to_layer_input, "LayerGradCam.attribute")
        score = select_target(out, target, "LayerGradCam.attribute")
        grad, = autograd.grad(score.sum(), [act])
        if act.ndim < 3:
            raise ValueError(f"LayerGradCam: the layer's output must have spatial dimensions "
                             f"(N, C, ...), got shape {tuple(act.shape)}")
        spatial = tuple(range(2, act.ndim))
        alpha = grad.mean(dim=spatial, keepdim=True)
        cam = (alpha * act.detach())
        cam = cam.sum(1, keepdim=True) if attr_dim_summation else cam
        return cam.relu() if relu_attributions else cam


class GuidedGradCam(_Attribution):
    """Guided Grad-CAM: guided backpropagation × the (ReLU'd) Grad-CAM map upsampled to the
    input's size — fine-grained and class-discriminative."""

    def __init__(self, model, layer, device_ids=None):
        super().__init__(model)
        self.grad_cam = LayerGradCam(model, layer)
        self.guided_backprop = GuidedBackprop(model)

    def attribute(self, inputs, target=None, additional_forward_args=None,
                  interpolate_mode="nearest", attribute_to_layer_input=False):
        _check_input(inputs, "GuidedGradCam")
        cam = self.grad_cam.attribute(inputs, target, additional_forward_args,
                                      attribute_to_layer_input, relu_attributions=True)
        guided = self.guided_backprop.attribute(inputs, target, additional_forward_args)
        return guided * LayerAttribution.interpolate(cam, inputs.shape[2:], interpolate_mode)


# ---------------------------------------------------------------------------- occlusion
class Occlusion(_Attribution):
    """Occlusion (Zeiler & Fergus 2014; seed 003): slide a window over the input, replace it
    by the baseline ("grey it out"), and credit every covered pixel with the drop
    S_c(x) − S_c(x with the window occluded); a pixel's attribution is the mean drop over the
    windows that covered it (0 for a pixel no window covers)."""

    def attribute(self, inputs, sliding_window_shapes, strides=None, baselines=None,
                  target=None, additional_forward_args=None, perturbations_per_eval=1,
                  show_progress=False):
        _check_input(inputs, "Occlusion")
        x = inputs.detach()
        dims = tuple(x.shape[1:])
        window = _per_dim(sliding_window_shapes, dims, "sliding_window_shapes")
        stride = _per_dim(1 if strides is None else strides, dims, "strides")
        if any(w > d for w, d in zip(window, dims)):
            raise ValueError(f"Occlusion: sliding_window_shapes {window} is larger than the "
                             f"input's shape {dims}")
        if not isinstance(perturbations_per_eval, numbers.Integral) or perturbations_per_eval < 1:
            raise ValueError("Occlusion: perturbations_per_eval must be a positive integer, got "
                             f"{perturbations_per_eval!r}")
        base = _baseline(baselines, x, "Occlusion")
        counts = [(d - w) // s + 1 for d, w, s in zip(dims, window, stride)]
        starts = np.stack(np.meshgrid(*[np.arange(c) * s for c, s in zip(counts, stride)],
                                      indexing="ij"), -1).reshape(-1, len(dims))
        n = x.shape[0]
        dtype = x.numpy().dtype
        with autograd.no_grad():
            original = select_target(_forward(self.forward_func, x, additional_forward_args),
                                     target, "Occlusion.attribute").numpy()
            total = np.zeros((n,) + dims, dtype=np.float64)
            covered = np.zeros(dims, dtype=np.float64)
            xs, bs = x.numpy(), base.numpy()
            for lo in range(0, len(starts), perturbations_per_eval):
                group = starts[lo:lo + perturbations_per_eval]
                masks = np.zeros((len(group),) + dims, dtype=dtype)
                for m, st in zip(masks, group):
                    m[tuple(slice(a, a + w) for a, w in zip(st, window))] = 1
                occluded = xs[None] * (1 - masks[:, None]) + bs[None] * masks[:, None]
                occluded = as_tensor(occluded.reshape((len(group) * n,) + dims))
                tgt = target if not _per_example(target) else np.tile(_as_index(target),
                                                                      len(group))
                extra = _repeat_args(additional_forward_args, len(group))
                scores = select_target(_forward(self.forward_func, occluded, extra), tgt,
                                       "Occlusion.attribute").numpy().reshape(len(group), n)
                drop = original[None] - scores
                total += np.einsum("gn,g...->n...", drop, masks)
                covered += masks.sum(0)
            attr = np.divide(total, covered, out=np.zeros_like(total), where=covered > 0)
        return as_tensor(attr.astype(dtype))


def _per_dim(value, dims, name):
    if isinstance(value, numbers.Integral):
        value = (int(value),) * len(dims)
    value = tuple(value)
    if len(value) != len(dims) or any(not isinstance(v, numbers.Integral) or v < 1
                                      for v in value):
        raise ValueError(f"Occlusion: {name} must be {len(dims)} positive integers (one per "
                         f"non-batch input dimension {dims}), got {value!r}")
    return tuple(int(v) for v in value)
