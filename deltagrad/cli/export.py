"""``deltagrad export RUN``: a trained run's model in a format the rest of the ecosystem reads.

    deltagrad export RUN --format safetensors|torch|onnx [--out FILE] [--weights last|best]

* ``safetensors``: ``RUN/model.safetensors``, the state_dict (one name per tied tensor), with
  the run's experiment and settings as JSON in the file's metadata (``deltagrad.config``);
* ``torch``: ``RUN/model.pt``, the state_dict in PyTorch's zip layout, for
  ``torch.load(path, weights_only=True)`` and ``load_state_dict``;
* ``onnx``: ``RUN/model.onnx``, one traced forward pass with a dynamic batch axis
  (input ``input``, output ``output``), for onnxruntime and other runtimes.
"""
from __future__ import annotations

import json
import os

import numpy as np

FORMATS = {"safetensors": "model.safetensors", "torch": "model.pt", "onnx": "model.onnx"}


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


def cmd_export(args) -> int:
    from ..train.run import RunError
    from ..train.trainer import load_run
    setup, state = load_run(args.run, args.weights, with_data=False)
    model = setup.model
    out = args.out or os.path.join(args.run, FORMATS[args.format])
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise RunError(f"--out {out}: the folder {parent} does not exist")
    config = {"experiment": setup.experiment.name, "settings": setup.settings,
              "weights": args.weights, "epoch": int(state.get("epoch", 0)),
              "input_shape": list(setup.data.input_shape),
              "input_dtype": str(setup.data.x_train.dtype), "classes": list(setup.data.classes)}
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
        _export_onnx(model, setup, out, args.opset, RunError)
    print(f"wrote {out} ({args.format}, {setup.experiment.name}, {args.weights} weights)")
    return 0


def _export_onnx(model, setup, out, opset, error):
    from .. import from_numpy
    from ..io.onnx import ExportError, export
    x = from_numpy(np.zeros((2, *setup.data.input_shape), setup.data.x_train.dtype))
    try:
        export(model, (x,), out, input_names=["input"], output_names=["output"],
               dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
               opset_version=opset)
    except (ImportError, ExportError, ValueError) as e:
        raise error(f"cannot export {setup.experiment.name} to ONNX: {e}") from None
