"""How torch.fx records a call of a torch.nn.functional function written in Python.

Those functions hand a Proxy to ``handle_torch_function(fn, relevant, *args, **kwargs)``, so
torch.fx records the arguments laid out as that call lays them out: some positional, the rest
by keyword with their defaults filled in (``F.relu(x)`` is recorded as
``relu(x, inplace = False)``). ``LAYOUT[name] = (positional names, keyword names)`` for the
deltagrad functions whose torch counterparts do this; ``tests/fx/test_functional_layout.py``
reads it back from the installed PyTorch's source. ``lay_out`` applies it to a call of the
deltagrad function, by parameter name, when deltagrad's function has all those parameters
and its other ones (``generator``) are left at their defaults; otherwise the call is
recorded as written -- so the recorded call always means what the written one does.
"""
from __future__ import annotations

import inspect

__all__ = ["LAYOUT", "lay_out"]

LAYOUT = {
    "adaptive_avg_pool2d": (('input', 'output_size'), ()),
    "adaptive_avg_pool3d": (('input', 'output_size'), ()),
    "alpha_dropout": (('input',), ('p', 'training', 'inplace')),
    "batch_norm": (('input', 'running_mean', 'running_var'), ('weight', 'bias', 'training', 'momentum', 'eps')),
    "binary_cross_entropy": (('input', 'target'), ('weight', 'size_average', 'reduce', 'reduction')),
    "binary_cross_entropy_with_logits": (('input', 'target'), ('weight', 'size_average', 'reduce', 'reduction', 'pos_weight')),
    "celu": (('input',), ('alpha', 'inplace')),
    "cosine_embedding_loss": (('input1', 'input2', 'target'), ('margin', 'size_average', 'reduce', 'reduction')),
    "cross_entropy": (('input', 'target'), ('weight', 'size_average', 'ignore_index', 'reduce', 'reduction', 'label_smoothing')),
    "ctc_loss": (('log_probs', 'targets', 'input_lengths', 'target_lengths'), ('blank', 'reduction', 'zero_infinity')),
    "dropout": (('input',), ('p', 'training', 'inplace')),
    "dropout1d": (('input',), ('p', 'training', 'inplace')),
    "dropout2d": (('input',), ('p', 'training', 'inplace')),
    "dropout3d": (('input',), ('p', 'training', 'inplace')),
    "elu": (('input',), ('alpha', 'inplace')),
    "embedding": (('input', 'weight'), ('padding_idx', 'max_norm', 'norm_type', 'scale_grad_by_freq', 'sparse')),
    "fold": (('input', 'output_size', 'kernel_size'), ('dilation', 'padding', 'stride')),
    "gaussian_nll_loss": (('input', 'target', 'var'), ('full', 'eps', 'reduction')),
    "glu": (('input',), ('dim',)),
    "group_norm": (('input', 'num_groups'), ('weight', 'bias', 'eps')),
    "hardsigmoid": (('input',), ('inplace',)),
    "hardswish": (('input',), ('inplace',)),
    "hardtanh": (('input',), ('min_val', 'max_val', 'inplace')),
    "hinge_embedding_loss": (('input', 'target'), ('margin', 'size_average', 'reduce', 'reduction')),
    "huber_loss": (('input', 'target'), ('reduction', 'delta', 'weight')),
    "instance_norm": (('input',), ('running_mean', 'running_var', 'weight', 'bias', 'use_input_stats', 'momentum', 'eps')),
    "interpolate": (('input',), ('size', 'scale_factor', 'mode', 'align_corners', 'recompute_scale_factor', 'antialias')),
    "kl_div": (('input', 'target'), ('size_average', 'reduce', 'reduction', 'log_target')),
    "l1_loss": (('input', 'target'), ('size_average', 'reduce', 'reduction')),
    "layer_norm": (('input', 'normalized_shape'), ('weight', 'bias', 'eps')),
    "leaky_relu": (('input',), ('negative_slope', 'inplace')),
    "local_response_norm": (('input', 'size'), ('alpha', 'beta', 'k')),
    "log_softmax": (('input',), ('dim', '_stacklevel', 'dtype')),
    "margin_ranking_loss": (('input1', 'input2', 'target'), ('margin', 'size_average', 'reduce', 'reduction')),
    "max_unpool1d": (('input', 'indices', 'kernel_size'), ('stride', 'padding', 'output_size')),
    "max_unpool2d": (('input', 'indices', 'kernel_size'), ('stride', 'padding', 'output_size')),
    "max_unpool3d": (('input', 'indices', 'kernel_size'), ('stride', 'padding', 'output_size')),
    "mish": (('input',), ('inplace',)),
    "mse_loss": (('input', 'target'), ('size_average', 'reduce', 'reduction', 'weight')),
    "multi_margin_loss": (('input', 'target'), ('p', 'margin', 'weight', 'size_average', 'reduce', 'reduction')),
    "multilabel_margin_loss": (('input', 'target'), ('size_average', 'reduce', 'reduction')),
    "multilabel_soft_margin_loss": (('input', 'target'), ('weight', 'size_average', 'reduce', 'reduction')),
    "nll_loss": (('input', 'target'), ('weight', 'size_average', 'ignore_index', 'reduce', 'reduction')),
    "normalize": (('input',), ('p', 'dim', 'eps', 'out')),
    "pad": (('input', 'pad'), ('mode', 'value')),
    "poisson_nll_loss": (('input', 'target'), ('log_input', 'full', 'size_average', 'eps', 'reduce', 'reduction')),
    "relu": (('input',), ('inplace',)),
    "relu6": (('input',), ('inplace',)),
    "rms_norm": (('input', 'normalized_shape'), ('weight', 'eps')),
    "selu": (('input',), ('inplace',)),
    "silu": (('input',), ('inplace',)),
    "smooth_l1_loss": (('input', 'target'), ('size_average', 'reduce', 'reduction', 'beta')),
    "soft_margin_loss": (('input', 'target'), ('size_average', 'reduce', 'reduction')),
    "softmax": (('input',), ('dim', '_stacklevel', 'dtype')),
    "softmin": (('input',), ('dim', '_stacklevel', 'dtype')),
    "softsign": (('input',), ()),
    "tanhshrink": (('input',), ()),
    "threshold": (('input', 'threshold', 'value'), ('inplace',)),
    "triplet_margin_loss": (('anchor', 'positive', 'negative'), ('margin', 'p', 'eps', 'swap', 'size_average', 'reduce', 'reduction')),
    "triplet_margin_with_distance_loss": (('anchor', 'positive', 'negative'), ('distance_function', 'margin', 'swap', 'reduction')),
    "unfold": (('input', 'kernel_size'), ('dilation', 'padding', 'stride')),
}

_signatures = {}


def lay_out(name: str, fn, args: tuple, kwargs: dict):
    """``(args, kwargs)`` of a call of ``deltagrad.nn.functional.<name>`` laid out as torch.fx
    records the torch function's call; the call unchanged where no layout applies."""
    layout = LAYOUT.get(name)
    if layout is None:
        return args, kwargs
    if fn not in _signatures:
        try:
            _signatures[fn] = inspect.signature(fn)
        except (TypeError, ValueError):
            _signatures[fn] = None
    signature = _signatures[fn]
    positional, keywords = layout
    if signature is None or not set(positional) | set(keywords) <= set(signature.parameters):
        return args, kwargs
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return args, kwargs  # the call itself will raise its own error
    named = set(positional) | set(keywords)
    if any(name not in named for name in bound.arguments):
        return args, kwargs  # a deltagrad-only argument was given: keep the call as written
    bound.apply_defaults()
    values = bound.arguments
    return tuple(values[n] for n in positional), {k: values[k] for k in keywords}
