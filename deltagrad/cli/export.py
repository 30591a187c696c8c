"""``deltagrad export RUN``: a trained run's model in a format the rest of the ecosystem reads.

    deltagrad export RUN --format safetensors|torch|onnx [--out FILE] [--weights last|best]

* ``safetensors``: ``RUN/model.safetensors``, the state_dict (one name per tied tensor), with
  the run's experiment and settings as JSON in the file's metadata (``deltagrad.config``);
* ``torch``: ``RUN/model.pt``, the state_dict in PyTorch's zip layout, for
  ``torch.load(path, weights_only=True)`` and ``load_state_dict``;
* ``onnx``: ``RUN/model.onnx``, one traced forward pass with a dynamic batch axis
  (input ``input``, output ``output``), for onnxruntime and other runtimes.

A run of several networks (a GAN's generator ``G`` and discriminator ``D``) exports all of
them to safetensors or torch (keys ``G.…``, ``D.…``), or one with ``--network G|D`` (also
``generator|discriminator``); ONNX traces one network, so it needs ``--network``: the
generator's input is its latent z (and a conditional network's ``labels``). A model with no
forward pass (an RBM) has nothing to trace: its weights export to safetensors or torch.
"""
from __future__ import annotations

import json
import os

import numpy as np

FORMATS = {"safetensors": "model.safetensors", "torch": "model.pt", "onnx": "model.onnx"}
NETWORK_ALIASES = {"generator": "G", "discriminator": "D"}   # a GAN's two networks


def add_parser(sub) -> None:
    s = sub.add_parser("export", help="write a run's model as safetensors, a PyTorch file or "
                       "ONNX", description="Export a trained run's model: its state_dict as "
                       "safetensors (with the run's config in the metadata) or as a PyTorch "
                       "file, or one traced forward pass as ONNX (dynamic batch axis).")
    s.add_argument("run", metavar="RUN", help="run folder")
    s.add_argument("--format", required=True, choices=tuple(FORMATS),
                   help="safetensors, torch or onnx")
    s.add_argument("--out", metavar="FILE", help="output file (default: RUN/model.safetensors, "
                   "RUN/model.pt or RUN/model.onnx)")
    s.add_argument("--weights", choices=("last", "best"), default="best",
                   help="best.npz (default) or the last checkpoint")
    s.add_argument("--opset", type=int, default=17, help="ONNX opset version (17)")
    s.add_argument("--network", metavar="NAME", help="one network of a run of several: a "
                   "GAN's G (generator) or D (discriminator); ONNX needs it for a GAN "
                   "(default: the whole model)")


def cmd_export(args) -> int:
    from ..train.run import RunError
    from ..train.trainer import load_run
    setup, state = load_run(args.run, args.weights, with_data=False)
    model = _network(setup, args.network, args.format, RunError)
    out = args.out or os.path.join(args.run, FORMATS[args.format])
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise RunError(f"--out {out}: the folder {parent} does not exist")
    config = {"experiment": setup.experiment.name, "settings": setup.settings,
              "weights": args.weights, "epoch": int(state.get("epoch", 0)),
              "input_shape": list(setup.data.input_shape),
              "input_dtype": str(setup.data.x_train.dtype), "classes": list(setup.data.classes)}
    if args.network:  # the chosen network's input: a generator's is its latent z
        from ..analysis.summary import network_inputs
        x = network_inputs(model, setup.data.input_shape)[0]
        config.update(network=NETWORK_ALIASES.get(args.network, args.network),
                      input_shape=list(x.shape[1:]), input_dtype=str(x.numpy().dtype))
    if args.format == "safetensors":
        from ..io.safetensors import save_model
        try:
            save_model(model, out, metadata={"deltagrad.config": json.dumps(config, default=str),
                                             "format": "pt"})
        except ImportError as e:
            raise RunError(str(e)) from None
    elif args.format == "torch":
        from ..io.serialization import save
        save(model.state_dict(), out)
    else:
        _export_onnx(model, setup, out, args.opset, RunError, args.network)
    network = f" network {config['network']}" if args.network else ""
    print(f"wrote {out} ({args.format}, {setup.experiment.name}{network}, {args.weights} "
          "weights)")
    return 0


def _network(setup, name, fmt, error):
    """The module to export: the run's model, or its network ``name`` (a GAN's G or D)."""
    from ..nn import ModuleDict
    model, experiment = setup.model, setup.experiment.name
    if not isinstance(model, ModuleDict):
        if name is not None:
            raise error(f"--network {name}: {experiment} has one network (a "
                        f"{type(model).__name__}); --network picks one network of a run of "
                        "several, such as a GAN's G or D")
        return model
    names = list(model.keys())
    aliases = [a for a, k in NETWORK_ALIASES.items() if k in names]
    choices = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    choices += f" (or {', '.join(aliases)})" if aliases else ""
    if name is None:
        if fmt == "onnx":
            raise error(f"{experiment} has {len(names)} networks ({', '.join(names)}) and ONNX "
                        f"traces one: choose it with --network {choices}")
        return model
    key = NETWORK_ALIASES.get(name, name)
    if key not in names:
        raise error(f"--network {name}: {experiment} has no such network; expected "
                    f"{choices}")
    return model[key]


def _export_onnx(model, setup, out, opset, error, network=None):
    from .. import from_numpy
    from ..analysis.summary import has_forward, network_inputs
    from ..io.onnx import ExportError, export
    what = setup.experiment.name + (f" network {network}" if network else "")
    if not has_forward(model):
        raise error(f"cannot export {what} to ONNX: {type(model).__name__} has no forward "
                    "pass to trace (an energy model); export its weights with --format "
                    "safetensors or torch")
    if network is None:
        inputs = (from_numpy(np.zeros((2, *setup.data.input_shape), setup.data.x_train.dtype)),)
    else:
        inputs = network_inputs(model, setup.data.input_shape, batch_size=2)
    names = ["input", "labels"][:len(inputs)]
    axes = {n: {0: "batch"} for n in names + ["output"]}
    try:
        export(model, inputs, out, input_names=names, output_names=["output"],
               dynamic_axes=axes, opset_version=opset)
    except (ImportError, ExportError, ValueError) as e:
        raise error(f"cannot export {what} to ONNX: {e}") from None
