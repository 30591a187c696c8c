"""Transfer learning: freeze what was learned, replace the classifier head, fine-tune with
per-part learning rates.

    freeze(model.features)                       # no gradients, optimiser skips them
    replace_head(model, num_classes=5)           # a fresh last Linear layer
    opt = dg.optim.SGD(param_groups(model, {"features": 1e-4}, default_lr=1e-2), lr=1e-2)
"""
from __future__ import annotations

from .. import nn

__all__ = ["freeze", "unfreeze", "replace_head", "find_head", "param_groups"]


def freeze(module: nn.Module) -> nn.Module:
    """Stop training ``module``: requires_grad=False on all its parameters."""
    return module.requires_grad_(False)


def unfreeze(module: nn.Module) -> nn.Module:
    return module.requires_grad_(True)


def find_head(model: nn.Module):
    """(parent module, attribute name) of the last ``Linear`` layer in registration order."""
    found = None
    for name, m in model.named_modules():
        for child_name, child in m.named_children():
            if isinstance(child, nn.Linear):
                found = (m, child_name)
    if found is None:
        raise ValueError(f"replace_head: {type(model).__name__} has no Linear layer to replace")
    return found


def replace_head(model: nn.Module, num_classes: int, head: nn.Module | None = None) -> nn.Module:
    """Swap the last Linear layer for ``head`` (default: a fresh Linear to ``num_classes``)."""
    parent, name = find_head(model)
    old = getattr(parent, name)
    new = head if head is not None else nn.Linear(old.in_features, num_classes,
                                                  bias=old.bias is not None)
    new.to(old.weight.dtype)
    setattr(parent, name, new)
    return model


def param_groups(model: nn.Module, lrs: dict, default_lr: float | None = None):
    """Optimizer parameter groups, one per named submodule prefix in ``lrs`` (its learning
    rate) plus one for everything else; frozen parameters are left out."""
    groups = {prefix: [] for prefix in lrs}
    rest = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        for prefix in lrs:
            if name == prefix or name.startswith(prefix + "."):
                groups[prefix].append(p)
                break
        else:
            rest.append(p)
    out = [{"params": ps, "lr": lrs[prefix]} for prefix, ps in groups.items() if ps]
    if rest:
        out.append({"params": rest} if default_lr is None else {"params": rest, "lr": default_lr})
    return out
