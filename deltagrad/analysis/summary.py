"""``summary(model, input_size)``: per-layer output shape, parameters, FLOPs, receptive field.

Conventions of the notes (seed 000, §7.5; seed 002's LeNet-5 table):
- FLOPs count 2 per multiply-accumulate and nothing else (no bias adds, no activations,
  no softmax): a standard convolution costs (2 × D₁ × F²) × D₂ × H₂ × W₂, a linear layer
  2 × n_in × n_out. A recurrent layer with G gate blocks (RNN 1, GRU 3, LSTM 4) costs
  2 × G × (I_l + H) × H per step, layer and direction (W_ih x_t and W_hh h_{t−1}), times the
  T steps; multi-head attention over L queries and S keys costs its projections
  2·L·E·E (Q) + 2·S·k_dim·E (K) + 2·S·v_dim·E (V), then QKᵀ and A·V at 2·L·S·E each
  (all heads together; the output projection W^O is its own Linear row). A Transformer
  layer is the sum of its attention, feed-forward and norm rows.
- Receptive field: RF_k = RF_{k−1} + (f_k − 1) · ∏_{i<k} s_i with RF_0 = 1, for every layer
  with a ``kernel_size`` (convolutions, pooling); f is the dilated kernel (f − 1)·d + 1.
  Layers after the spatial part (flatten, linear) see the whole input: their RF is None.
- Rows are the leaf layers (and any module holding parameters of its own), in the order
  they run; containers are not rows. Output shapes are per sample (no batch dimension).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from ..autograd.grad_mode import no_grad


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple
    params: int
    flops: int
    receptive_field: int | None
    flops_known: bool = True           # False: a layer with weights and no FLOP formula


@dataclass
class Summary:
    layers: list
    total_params: int
    trainable_params: int
    total_flops: int
    input_size: tuple | None           # None: no forward pass (parameter_summary)
    model_kind: str = ""

    @property
    def uncounted(self) -> list:
        """Names of the layers whose FLOPs are unknown (left out of ``total_flops``)."""
        return [r.name or r.kind for r in self.layers if not r.flops_known]

    def __str__(self):
        return format_summary(self)

    def __repr__(self):
        return format_summary(self)


def _pair(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def layer_flops(module, inputs, output) -> int:
    """2 × multiply-accumulates of one sample through ``module`` (0 for layers without MACs)."""
    from ..nn import Linear
    kind = type(module).__name__
    out_shape = tuple(output.shape[1:]) if hasattr(output, "shape") else ()
    if isinstance(module, Linear) and hasattr(module, "in_features"):  # and its subclasses
        return 2 * module.in_features * module.out_features * prod(out_shape[:-1] or (1,))
    if kind == "Bilinear":
        return 2 * module.in1_features * module.in2_features * module.out_features * \
            prod(out_shape[:-1] or (1,))
    if kind.startswith("Conv") and hasattr(module, "kernel_size"):
        k = prod(_pair(module.kernel_size, 1))
        cin_per_group = module.in_channels // module.groups
        if kind.startswith("ConvTranspose"):
            in_spatial = prod(inputs[0].shape[2:])
            return 2 * module.in_channels * (module.out_channels // module.groups) * k * in_spatial
        return 2 * cin_per_group * k * module.out_channels * prod(out_shape[1:])
    if kind in ("RNN", "LSTM", "GRU") and hasattr(module, "num_layers"):
        return _recurrent_flops(module, inputs)
    if kind in ("RNNCell", "LSTMCell", "GRUCell"):
        return 2 * _GATES[kind[:-4]] * (module.input_size + module.hidden_size) * \
            module.hidden_size
    if kind in ("ElmanRNN", "JordanRNN"):
        T = _steps(inputs, output, module.batch_first)
        return 2 * T * sum(int(prod(p.shape)) for p in (module.U, module.W, module.V))
    if kind == "MultiheadAttention":
        return _attention_flops(module, inputs, output)
    custom = getattr(module, "flops", None)
    if callable(custom):
        return int(custom(inputs, output))
    return 0


_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _steps(inputs, output, batch_first: bool) -> int:
    """Sequence length of a (T, N, ·) / (N, T, ·) / unbatched (T, ·) input."""
    x = inputs[0] if inputs and hasattr(inputs[0], "shape") else output
    return int(x.shape[1] if batch_first and x.ndim == 3 else x.shape[0])


def _recurrent_flops(module, inputs) -> int:
    """Σ_l D · T · 2 · G · (I_l + H) · H with I_0 the input size, I_l = D·H above it."""
    G, H, D = _GATES[type(module).__name__], module.hidden_size, 2 if module.bidirectional else 1
    T = _steps(inputs, None, module.batch_first)
    total = 0
    for layer in range(module.num_layers):
        in_size = module.input_size if layer == 0 else D * H
        total += D * T * 2 * G * (in_size + H) * H
    return total


def _attention_flops(module, inputs, output) -> int:
    """Q, K, V projections + QKᵀ + A·V of one sample (W^O is counted by its Linear)."""
    def length(t):
        return int(t.shape[1] if module.batch_first and t.ndim == 3 else t.shape[0])
    q = inputs[0] if inputs else output
    k = inputs[1] if len(inputs) > 1 else q
    E, L, S = module.embed_dim, length(q), length(k)
    proj = 2 * L * E * E + 2 * S * module.kdim * E + 2 * S * module.vdim * E
    S += int(module.bias_k is not None) + int(module.add_zero_attn)
    return proj + 2 * L * S * E + 2 * L * S * E


def input_dtype(model):
    """The dtype of a model's input when it says so (an ``input_dtype`` attribute) or starts
    with an Embedding (int64 token indices); None otherwise (the parameters' dtype)."""
    from .. import int64
    declared = getattr(model, "input_dtype", None)
    if declared is not None:
        return declared
    first = next((m for m in model.modules() if not any(True for _ in m.children())), None)
    return int64 if type(first).__name__ in ("Embedding", "EmbeddingBag") else None


def summary(model, input_size, batch_size: int = 1, dtype=None, device=None, inputs=None) -> Summary:
    """Run one forward pass of zeros of shape (batch_size, *input_size) and tabulate each layer.

    ``input_size`` is the shape of one sample, e.g. (1, 28, 28) or (784,). The zeros are
    int64 token indices for a model that starts with an Embedding or declares
    ``input_dtype``, else of the parameters' dtype; ``dtype`` or ``inputs`` (a Tensor, or a
    tuple of Tensors for a forward of several arguments such as a conditional GAN's
    ``(z, labels)``; the first one's shape is the input size) override that.
    """
    from ..tensor import zeros
    from .. import backend
    if not has_forward(model):
        raise TypeError(f"summary: {type(model).__name__} has no forward pass to run "
                        "(use parameter_summary for its parameters, or network_summaries "
                        "for a model of several networks)")
    if isinstance(inputs, (tuple, list)):
        inputs = tuple(inputs)
    elif inputs is not None:
        inputs = (inputs,)
    if inputs is None:
        if input_size is None:
            raise ValueError("summary: give input_size (the shape of one sample) or inputs")
        input_size = tuple(int(s) for s in input_size)
        params = list(model.parameters())
        if dtype is None:
            dtype = input_dtype(model)
        if dtype is None:
            dtype = params[0].dtype if params else backend.get_default_dtype()
        if device is None:
            device = params[0].device if params else "cpu"
        inputs = (zeros((batch_size,) + input_size, dtype=dtype, device=device),)
    else:
        input_size = tuple(inputs[0].shape[1:])
    names = {id(m): n for n, m in model.named_modules()}
    rows, handles = [], []

    def is_row(m):
        return not any(True for _ in m.children()) or any(
            p is not None for p in m._parameters.values())

    def hook(m, inp, out):
        first = out[0] if isinstance(out, (tuple, list)) else out
        shape = tuple(first.shape) if hasattr(first, "shape") else ()
        if getattr(m, "batch_first", None) is False and len(shape) == 3:
            shape = (shape[0],) + shape[2:]  # (T, N, ·): the batch is dimension 1
        else:
            shape = shape[1:]
        rows.append((m, shape, layer_flops(m, inp, first)))

    for m in model.modules():
        if is_row(m):
            handles.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(*inputs)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()

    table, rf, jump, spatial = [], 1, 1, True
    for m, shape, flops in rows:
        field = None
        if hasattr(m, "kernel_size") and spatial:
            nd = max(len(shape) - 1, 1)
            f = _pair(m.kernel_size, nd)[0]
            d = _pair(getattr(m, "dilation", 1), nd)[0]
            s = _pair(m.stride if getattr(m, "stride", None) is not None else f, nd)[0]
            rf = rf + ((f - 1) * d) * jump
            jump *= s
            field = rf
        elif type(m).__name__ in ("Flatten", "Linear", "AdaptiveAvgPool2d", "AdaptiveAvgPool1d",
                                  "AdaptiveMaxPool2d"):
            spatial = False
        elif spatial and rf > 1:
            field = rf
        own = sum(int(np.prod(p.shape)) for p in m.parameters(recurse=False))
        # unknown: a leaf with weights and no formula (a container's own tensors, such as
        # ViT's class token, are concatenated or added: no multiply-accumulates)
        leaf = not any(True for _ in m.children())
        known = bool(flops) or not own or not leaf or _costs_no_macs(m)
        table.append(LayerRow(names.get(id(m), type(m).__name__), type(m).__name__, shape, own,
                              int(flops), field, known))
    unique = {id(p): p for p in model.parameters()}
    total = sum(int(np.prod(p.shape)) for p in unique.values())
    trainable = sum(int(np.prod(p.shape)) for p in unique.values() if p.requires_grad)
    return Summary(table, total, trainable, sum(r.flops for r in table), input_size,
                   type(model).__name__)


def has_forward(model) -> bool:
    """Whether ``model`` defines a forward pass of its own (an RBM, an energy model, has none;
    a ModuleDict is a container whose networks run separately)."""
    from ..nn import Module, ModuleDict
    return not isinstance(model, ModuleDict) and type(model).forward is not Module.forward


def parameter_summary(model) -> Summary:
    """The table of a model without a forward pass (an RBM): one row per parameter tensor,
    its shape in place of an output shape; no FLOPs and no input size (``input_size`` None)."""
    names = {id(m): n for n, m in model.named_modules()}
    rows = [LayerRow(".".join(filter(None, (names[id(m)], n))), type(m).__name__,
                     tuple(p.shape), int(np.prod(p.shape)), 0, None)
            for m in model.modules() for n, p in m._parameters.items() if p is not None]
    unique = {id(p): p for p in model.parameters()}
    return Summary(rows, sum(int(np.prod(p.shape)) for p in unique.values()),
                   sum(int(np.prod(p.shape)) for p in unique.values() if p.requires_grad),
                   0, None, type(model).__name__)


def network_inputs(network, input_size, dtype=None, batch_size: int = 1) -> tuple:
    """Zero inputs (``batch_size`` samples) of one network of a model: a generator (a
    ``latent_dim``) gets its latent z of shape (N, latent_dim), any other network samples of
    ``input_size`` (of ``dtype``, default the parameters'); a conditional network
    (``num_classes`` > 0) also gets the labels 0."""
    from .. import backend, int64
    from ..tensor import zeros
    params = list(network.parameters())
    device = params[0].device if params else "cpu"
    latent = getattr(network, "latent_dim", None)
    if latent is not None:
        size, dtype = (int(latent),), None                   # z is real-valued
    else:
        size = tuple(int(s) for s in input_size)
        dtype = dtype if dtype is not None else input_dtype(network)
    if dtype is None:
        dtype = params[0].dtype if params else backend.get_default_dtype()
    inputs = (zeros((batch_size,) + size, dtype=dtype, device=device),)
    if getattr(network, "num_classes", 0):
        inputs += (zeros((batch_size,), dtype=int64, device=device),)
    return inputs


def network_summaries(model, input_size, dtype=None) -> dict:
    """``{name: Summary}`` of each network a model runs separately: a ModuleDict's networks
    by name (a GAN's generator ``G`` on its latent z, discriminator ``D`` on a data sample),
    a model with a forward pass under the name ``""``, one without (an RBM) as its
    :func:`parameter_summary`."""
    from ..nn import ModuleDict
    parts = dict(model.items()) if isinstance(model, ModuleDict) else {"": model}
    out = {}
    for name, network in parts.items():
        if not has_forward(network):
            out[name] = parameter_summary(network)
        elif isinstance(model, ModuleDict):
            out[name] = summary(network, None, inputs=network_inputs(network, input_size, dtype))
        else:
            out[name] = summary(network, input_size, dtype=dtype)
    return out


def _costs_no_macs(module) -> bool:
    """Layers with weights but no multiply-accumulates by the convention above: lookups
    (Embedding), added position codes and element-wise scalings (normalisations, PReLU)."""
    kind = type(module).__name__
    return kind in ("Embedding", "EmbeddingBag", "PReLU") or "Norm" in kind \
        or kind.endswith("PositionalEncoding")


def format_summary(s: Summary) -> str:
    """The table as text, one row per layer, with totals; "?" marks a layer with weights
    whose FLOPs have no formula here (left out of the total, and named under it). A model
    without a forward pass (:func:`parameter_summary`) lists its parameters' shapes."""
    params = f"Total params: {s.total_params:,} (trainable {s.trainable_params:,})"
    if s.input_size is None:
        return _table(("Parameter", "Of", "Shape", "Params"),
                      [(r.name, r.kind, _shape_text(r.output_shape), f"{r.params:,}")
                       for r in s.layers],
                      [params, "No forward pass (an energy model): no output shapes, FLOPs "
                       "or receptive fields"])
    body = [(r.name or "(model)", r.kind, _shape_text(r.output_shape), f"{r.params:,}",
             f"{r.flops:,}" if r.flops_known else "?",
             "" if r.receptive_field is None else str(r.receptive_field)) for r in s.layers]
    flops = (f"Total FLOPs per sample: {s.total_flops:,} (2 per multiply-accumulate)"
             + (f"; not counted (no formula): {', '.join(s.uncounted)}" if s.uncounted else ""))
    return _table(("Layer", "Kind", "Output shape", "Params", "FLOPs", "RF"), body,
                  [f"Input size (per sample): {_shape_text(s.input_size)}", params, flops])


def _shape_text(shape) -> str:
    return "×".join(map(str, shape)) or "scalar"


def _table(head, body, footer) -> str:
    """Columns as wide as their widest cell (the first three left-aligned, the numbers
    right-aligned), ruled above and below the rows, then the footer lines."""
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(head)]
    line = "  ".join("{:<%d}" % w if i < 3 else "{:>%d}" % w for i, w in enumerate(widths))
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([line.format(*head), rule] + [line.format(*b) for b in body]
                     + [rule] + list(footer))


def format_networks(summaries: dict) -> str:
    """Several networks' tables (a GAN's G and D), each under its name and class, then the
    parameters of each and of all."""
    if list(summaries) == [""]:
        return format_summary(summaries[""])
    parts = [f"{name} ({s.model_kind}):\n{format_summary(s)}" for name, s in summaries.items()]
    counts = ", ".join(f"{name} {s.total_params:,}" for name, s in summaries.items())
    total = sum(s.total_params for s in summaries.values())
    return "\n\n".join(parts) + (f"\n\n{len(summaries)} networks, params {counts}; "
                                  f"total {total:,}")


def _summary_json(s: Summary) -> dict:
    return {"layers": [vars(r) for r in s.layers], "total_params": s.total_params,
            "trainable_params": s.trainable_params, "total_flops": s.total_flops,
            "input_size": None if s.input_size is None else list(s.input_size)}


_FACTORY_MODULES = ("deltagrad.models.resnet", "deltagrad.models.vgg")


def _model_constructors():
    """Module classes of dg.models and the architecture factories (resnet18, vgg16, ...)."""
    from .. import models
    from ..nn import Module
    out = {}
    for name, obj in vars(models).items():
        if name.startswith("_"):
            continue
        if isinstance(obj, type) and issubclass(obj, Module):
            out[name] = obj
        elif callable(obj) and getattr(obj, "__module__", "") in _FACTORY_MODULES:
            out[name] = obj
    return out


_SUMMARY_HELP = """Print a model's layer table: output shape, parameters, FLOPs and receptive
field of every layer.

MODEL is one of
  - an experiment (deltagrad list): its model, built for its dataset, whose sample shape
    is the default input size;
  - a run folder (written by deltagrad train): the run's model, rebuilt from RUN/vocab.json,
    so the data need not be on this machine;
  - a constructor of deltagrad.models such as LeNet5, resnet18 or MobileNet, with
    --input-size and its keyword arguments as JSON in --kwargs.
A model that starts with an Embedding gets integer token indices as its dummy input."""


def summary_cli(argv=None, stream=None) -> int:
    """``deltagrad summary MODEL [--input-size ...]``: print the layer table (see
    :data:`_SUMMARY_HELP`)."""
    import argparse
    import json
    import sys
    from ..cli.messages import Parser, error_line, parse_arguments
    from ..experiments import load_module
    stream = stream if stream is not None else sys.stdout
    p = Parser(prog="deltagrad summary", description=_SUMMARY_HELP,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL", help="an experiment name, a run folder or a "
                   "deltagrad.models constructor such as LeNet5, resnet18, MobileNet")
    p.add_argument("--input-size", type=int, nargs="+", metavar="N",
                   help="the shape of one sample, e.g. 1 28 28 (default: the experiment's)")
    p.add_argument("--dataset", default="auto", help="dataset of an experiment (default auto)")
    p.add_argument("--kwargs", default="{}", help="JSON keyword arguments for a constructor, "
                   "e.g. {\"num_classes\": 10}")
    p.add_argument("--json", action="store_true", help="print the table as one JSON object")
    p.add_argument("--module", action="append", default=[], metavar="FILE|MODULE",
                   help="a Python file or module that registers more experiments")
    args, status = parse_arguments(p, argv)
    if args is None:
        return status
    try:
        for source in args.module:
            load_module(source)
        model, input_size, dtype = _resolve_model(args)
        summaries = network_summaries(model, input_size, dtype)
    except (ValueError, TypeError, KeyError, RuntimeError, ImportError) as e:
        print(error_line(e), file=sys.stderr)
        return 2
    if args.json and list(summaries) == [""]:
        print(json.dumps(_summary_json(summaries[""])), file=stream)
    elif args.json:
        print(json.dumps({"networks": {n: _summary_json(s) for n, s in summaries.items()},
                          "total_params": sum(s.total_params for s in summaries.values())}),
              file=stream)
    else:
        print(format_networks(summaries), file=stream)
    return 0


def _data_dtype(data):
    """int64 for token inputs (an integer x_train), else None (the parameters' dtype)."""
    from .. import int64
    return int64 if np.issubdtype(data.x_train.dtype, np.integer) else None


def _resolve_model(args):
    """(model, input size, dtype of the dummy input) of MODEL: experiment, run or constructor."""
    import json
    import os
    from ..cli.messages import did_you_mean
    from ..experiments import get_experiment, experiments
    names = {e.name for e in experiments()}
    if os.path.isdir(args.model):
        from ..train.trainer import load_run
        setup, _ = load_run(args.model, None, with_data=False)  # the architecture only
        return (setup.model, tuple(args.input_size or setup.data.input_shape),
                _data_dtype(setup.data))
    if args.model in names:
        exp = get_experiment(args.model)
        if args.dataset != "auto" and args.dataset not in exp.datasets:
            raise ValueError(f"experiment {exp.name!r} trains on {', '.join(exp.datasets)}, "
                             f"not --dataset {args.dataset!r}"
                             + did_you_mean(args.dataset, exp.datasets))
        data = exp.data(args.dataset if args.dataset != "auto" else exp.dataset)
        model = exp.model(data)
        return model, tuple(args.input_size or data.input_shape), _data_dtype(data)
    ctors = _model_constructors()
    lookup = {k.lower(): v for k, v in ctors.items()}
    ctor = ctors.get(args.model) or lookup.get(args.model.lower())
    if ctor is None:
        raise ValueError(f"unknown model {args.model!r}"
                         + did_you_mean(args.model, sorted(names) + sorted(ctors))
                         + f"; give an experiment ({', '.join(sorted(names))}), a run folder "
                         f"or a deltagrad.models constructor ({', '.join(sorted(ctors))})")
    if not args.input_size:
        raise ValueError(f"{args.model} needs --input-size (the shape of one sample, e.g. "
                         "3 32 32)")
    try:
        kwargs = json.loads(args.kwargs)
    except json.JSONDecodeError as e:
        raise ValueError(f"--kwargs is not valid JSON: {e}") from None
    if not isinstance(kwargs, dict):
        raise ValueError("--kwargs must be a JSON object, e.g. '{\"num_classes\": 10}'")
    return ctor(**kwargs), tuple(args.input_size), None
