"""Names in generated fx code: node names, and how a called function is spelled.

Node names follow ``torch.fx``: the target's name in snake_case, made a legal identifier, with
``_1``, ``_2`` ... appended when taken or when it would shadow a keyword or a builtin
(``float`` -> ``float_1``, ``max`` -> ``max_1``). deltagrad's public functions are spelled by
their public path: ``torch.exp`` / ``torch.nn.functional.relu`` when the program runs under
``run-torch`` (``import torch`` is deltagrad), ``deltagrad.exp`` otherwise.
"""
from __future__ import annotations

import builtins
import keyword
import operator
import re
import sys
from collections import defaultdict

__all__ = ["Namespace", "snake_case", "public_function_names", "qualified_name",
           "torch_spelling"]

_ILLEGAL_CHARS = re.compile(r"[^0-9a-zA-Z_]+")
_NUMBER_SUFFIX = re.compile(r"(.*)_(\d+)$")
#: names the generated code binds itself
_RESERVED = {"torch", "deltagrad", "inf", "nan", "NoneType", "operator", "self"}


def snake_case(s: str) -> str:
    """``LeakyReLU`` -> ``leaky_re_lu`` as torch.fx does (a capital after a lower-case letter
    starts a word)."""
    return re.sub(r"(?<=[a-z])([A-Z])", r"_\1", s).lower()


class Namespace:
    """Hands out unique, legal Python identifiers (torch.fx's ``_Namespace``)."""

    def __init__(self):
        self._used = set()
        self._base_count = defaultdict(int)
        self._obj_to_name = {}

    def create_name(self, candidate: str, obj=None) -> str:
        if obj is not None and id(obj) in self._obj_to_name:
            return self._obj_to_name[id(obj)][1]
        candidate = _ILLEGAL_CHARS.sub("_", candidate) or "_unnamed"
        if candidate[0].isdigit():
            candidate = f"_{candidate}"
        match = _NUMBER_SUFFIX.match(candidate)
        base, num = (candidate, None) if match is None else (match[1], int(match[2]))
        candidate = base if num is None else f"{base}_{num}"
        if not num:
            num = self._base_count[base]
        while candidate in self._used or self._is_illegal(candidate, obj):
            num += 1
            candidate = f"{base}_{num}"
        self._used.add(candidate)
        self._base_count[base] = num
        if obj is not None:
            self._obj_to_name[id(obj)] = (obj, candidate)  # keeps obj alive: ids stay unique
        return candidate

    def remove(self, name: str) -> None:
        self._used.discard(name)

    @staticmethod
    def _is_illegal(name, obj) -> bool:
        if name in keyword.kwlist or name in _RESERVED:
            return True
        if name in builtins.__dict__:
            return obj is not builtins.__dict__[name]
        return False


_public_names = None

#: deltagrad functions that inspect or configure rather than compute (torch.is_tensor(proxy)
#: is False in torch.fx, not a node): never recorded
NOT_RECORDED = {"is_tensor", "is_grad_enabled", "get_default_dtype", "set_default_dtype",
                "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
                "set_num_threads", "get_num_threads", "cuda_is_available", "save", "load",
                "set_float32_matmul_precision", "get_float32_matmul_precision"}


def public_function_names() -> dict:
    """id(function) -> its public path under deltagrad (``"exp"``, ``"nn.functional.relu"``,
    ``"linalg.vector_norm"``), for the functions of ``deltagrad``, ``deltagrad.nn.functional``,
    ``deltagrad.linalg`` and ``deltagrad.special`` (first found wins). A function with two
    public names (``arctan``/``atan``) takes its own ``__name__`` if public, else the first in
    alphabetical order. ``NOT_RECORDED`` functions are left out."""
    global _public_names
    if _public_names is None:
        import deltagrad
        import deltagrad.linalg
        import deltagrad.nn.functional as F
        import deltagrad.special
        table = {}
        for prefix, module in (("", deltagrad), ("nn.functional.", F),
                               ("linalg.", deltagrad.linalg), ("special.", deltagrad.special)):
            names = defaultdict(list)
            for name, value in vars(module).items():
                if not name.startswith("_") and callable(value) and not isinstance(value, type) \
                        and name not in NOT_RECORDED:
                    names[id(value)].append((name, value))
            for key, entries in names.items():
                if key in table:
                    continue  # deltagrad.sigmoid is also F.sigmoid: torch.sigmoid
                own = getattr(entries[0][1], "__name__", None)
                chosen = own if own in [n for n, _ in entries] else min(n for n, _ in entries)
                table[key] = (entries[0][1], prefix + chosen)
        _public_names = table
    return _public_names


def torch_spelling() -> bool:
    """True when ``import torch`` gives deltagrad (``run-torch``): code says ``torch.exp``."""
    torch = sys.modules.get("torch")
    return torch is not None and type(torch).__name__ == "TorchAlias"


def qualified_name(fn, for_display: bool = False) -> str:
    """How generated code names ``fn``: ``torch.exp``/``deltagrad.exp`` for deltagrad's
    functions, ``getattr`` for builtins (``builtins.getattr`` when ``for_display``, as a
    printed graph says), ``operator.add``, ``module.qualname`` otherwise."""
    entry = public_function_names().get(id(fn))
    if entry is not None and entry[0] is fn:
        return ("torch." if torch_spelling() else "deltagrad.") + entry[1]
    name = getattr(fn, "__name__", None)
    if name is None:
        raise TypeError(f"fx: cannot name the call target {fn!r} (it has no __name__)")
    if getattr(builtins, name, None) is fn:
        return f"builtins.{name}" if for_display else name
    if getattr(operator, name, None) is fn:
        return f"operator.{name}"
    if name == "<lambda>":
        raise RuntimeError(f"fx: a lambda cannot be a call target in generated code: {fn!r}")
    module = getattr(fn, "__module__", None) or "_unknown"
    return f"{module}.{getattr(fn, '__qualname__', name)}"


def short_name(fn) -> str:
    """The last part of ``qualified_name``: the node name's candidate (``exp``, ``relu``)."""
    entry = public_function_names().get(id(fn))
    if entry is not None and entry[0] is fn:
        return entry[1].rpartition(".")[2]
    return getattr(fn, "__name__", type(fn).__name__)
