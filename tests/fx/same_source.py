"""One program text, built twice: with ``torch`` = real PyTorch and with ``torch`` = deltagrad
(under ``torch_is_deltagrad``, so generated code spells deltagrad's functions ``torch.*``).
The fx tests trace both and compare the graphs node by node and the generated code line by
line."""
import numpy as np

import deltagrad as dg
from deltagrad.torch_compat import torch_is_deltagrad


def build(source: str, torch_module) -> dict:
    """The names ``source`` defines, with ``torch``/``F``/``fx`` bound to ``torch_module``'s."""
    namespace = {"__name__": "fx_test_program", "torch": torch_module,
                 "F": torch_module.nn.functional, "fx": torch_module.fx}
    exec(compile(source, "<fx test program>", "exec"), namespace)
    return namespace


def node_rows(graph) -> list:
    """(op, name, target if a string, args as text, kwargs as text) for each node: what two
    frameworks' graphs must agree on (function objects differ, so their targets are left out
    here; the generated code names them)."""
    return [(n.op, n.name, n.target if isinstance(n.target, str) else None, str(n.args),
             str(n.kwargs)) for n in graph.nodes]


def copy_weights(torch_module, dg_module) -> None:
    """deltagrad module gets the torch module's parameters and buffers (float64)."""
    state = {k: dg.tensor(np.array(v.detach().numpy(), dtype=np.float64) if v.is_floating_point()
                          else v.numpy())
             for k, v in torch_module.state_dict().items()}
    dg_module.double()
    dg_module.load_state_dict(state)


def in_deltagrad(fn):
    """Run ``fn(torch)`` with ``import torch`` giving deltagrad."""
    with torch_is_deltagrad():
        import torch
        return fn(torch)
