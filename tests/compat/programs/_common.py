"""Helpers shared by the PyTorch-style test programs (they import it as a sibling module, as
a real project would): weights from a seeded NumPy generator loaded through state_dict, so
the program starts from the same weights under torch and under deltagrad; results as JSON."""
import json
import sys

import numpy as np
import torch


def numpy_init(model, seed=0, scale=1.0):
    """Every floating parameter drawn from N(0, 1/fan_in) by NumPy, loaded via state_dict."""
    rng = np.random.default_rng(seed)
    params = dict(model.named_parameters())
    state = model.state_dict()
    for name in sorted(params):
        shape = tuple(state[name].shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        state[name] = torch.tensor((rng.standard_normal(shape) * scale / np.sqrt(fan_in))
                                   .astype(np.float32)).to(state[name].dtype)
    model.load_state_dict(state)
    return model


def write_result(result):
    """The results as JSON to the file after --out, if given."""
    if "--out" in sys.argv:
        with open(sys.argv[sys.argv.index("--out") + 1], "w") as f:
            json.dump(result, f)
