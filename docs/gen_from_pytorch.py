"""Write docs/from_pytorch.md: which of PyTorch's public names deltagrad has (and whether their
argument names agree), which it lacks, and which are deltagrad's own, namespace by namespace.

    python docs/gen_from_pytorch.py        (needs torch installed: it is the reference)

The tables come from the code: each namespace of torch is compared with the deltagrad object
that ``import torch`` resolves to under ``deltagrad run-torch`` (deltagrad.torch_compat), so a
name listed as present is one a PyTorch program can really use.
"""
from __future__ import annotations

import datetime
import inspect
import os
import subprocess
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import torch  # noqa: E402  (the reference; never a runtime dependency of deltagrad)

import deltagrad as dg  # noqa: E402
from deltagrad.torch_compat import resolve  # noqa: E402

NAMESPACES = ["torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.nn.utils",
              "torch.optim", "torch.optim.lr_scheduler", "torch.utils.data",
              "torch.distributions", "torch.autograd", "torch.linalg", "torch.special",
              "torch.cuda", "torch.amp", "torch.sparse", "torch.random",
              "torch.serialization", "torch.fx", "torch.testing", "torch.profiler"]

INTRO = """# deltagrad for PyTorch users

`import deltagrad as dg` gives PyTorch's user-facing API with PyTorch's names, argument names,
defaults, parameter shapes and `state_dict` keys. A PyTorch program runs unchanged with

    deltagrad run-torch script.py [args...]          # or: python -m deltagrad.torch_compat script.py

which makes `import torch`, `torch.nn`, `torch.nn.functional`, `torch.optim(.lr_scheduler)`,
`torch.utils.data(.distributed)`, `torch.nn.modules.*`, `torch.distributions`,
`torch.autograd`, `torch.cuda(.amp)`, `torch.amp`, `torch.backends.*`, `torch.sparse`,
`torch.random`, `torch.version`, `torch.serialization`, `torch.fx`, `torch.testing`
(`assert_close`), `torch.profiler`, `torch.autograd.profiler`, `torch.ops.profiler` and
`torch.utils.tensorboard` resolve
to deltagrad. A name deltagrad
lacks raises `AttributeError`/`ImportError: torch.xyz is not supported by deltagrad`; nothing
is faked. `tests/compat/programs/` holds programs run this way whose losses equal PyTorch's.

To check a program of your own against PyTorch (installed beside deltagrad):

    deltagrad run-torch --twin [--steps 10] script.py [args...]

runs it under PyTorch, recording each model's weights when first called (and each
optimizer's as it is built), every DataLoader batch, every random draw the program makes
(`randn`, `rand_like`, `nn.init.*`, `Tensor.normal_`, dropout masks, a distribution's
`sample`/`rsample`), then under deltagrad replaying them, and prints both losses step by step
beside PyTorch's own drift (PyTorch again, from weights one ulp away: how chaotic the training
is). `benchmarks/upstream_programs.py` does this for pytorch/examples, nanoGPT, minGPT and
makemore (`benchmarks/results/upstream_programs.json`).

## What behaves the same
- Tensors, autograd (`backward`, `autograd.grad`, hooks, `no_grad`, higher-order gradients),
  modules, losses, optimizers, schedulers, data loading: the same numbers as PyTorch from the
  same weights and batches (the test suite compares every op and layer with torch).
- `dg.save`/`dg.load` write and read PyTorch's zip format both ways, `weights_only=True` by
  default.
- Type promotion (`result_type`), float32 by default, `dg.manual_seed` for repeatable runs
  (the random streams differ from PyTorch's: same seed, different numbers).

## What differs
- Devices: the CPU (NumPy), and CUDA through CuPy when installed. `dg.cuda.is_available()`,
  `dg.accelerator`, `dg.backends.*.is_available()` answer truthfully; cuDNN/TF32/MPS flags are
  kept but change nothing.
- `autocast` is a no-op (every op computes in its inputs' dtype); `GradScaler` follows
  PyTorch (disabled without a GPU for `'cuda'`, real loss scaling for `'cpu'`).
- Sparse tensors: 2-D COO with `sparse.mm`/`spmm` differentiable in the dense operand only.
- `dg.bfloat16` (with the `ml_dtypes` package) and `dg.float16`: PyTorch's promotion rules;
  arithmetic, pointwise functions, activations, losses, reductions, indexing, `matmul`,
  `Linear`, convolutions, `LSTM`, `Embedding`, pooling, layer/batch/group norm and attention
  keep bfloat16 and its gradients (products summed in float32 and rounded once; norms sum in
  bfloat16, a few roundings from PyTorch's float32 sums).
- `SummaryWriter` writes through the `tensorboardX` package; `add_graph` is not supported.
- `torch.fx`: symbolic tracing, Graph/Node editing, GraphModule's generated code (printed as
  torch.fx prints it), Interpreter/Transformer, `replace_pattern`. deltagrad has no
  `__torch_function__`: calls of deltagrad's functions on Proxies are recorded by swapping
  the public functions while a trace runs (or a hand-made Proxy is alive).
- `torch.profiler` / `torch.autograd.profiler`: one event per deltagrad operation
  (`Function.apply`: `Linear`, `MatMul`, `Relu`) and backward node (`ReluBackward`), not per
  ATen kernel, plus `record_function` ranges; CPU time, counts, input shapes, the same table,
  a Chrome trace, `schedule` and `tensorboard_trace_handler`; no memory, stack or FLOPs.
- No TorchScript, `torch.compile`, FFT, quantization, complex dtypes.
- DataLoader loads in the calling process (`num_workers` accepted and ignored).
- `torch.multiprocessing`: fork, spawn and forkserver, `spawn`/`start_processes`,
  `Tensor.share_memory_`/`Module.share_memory` (Hogwild); a tensor that is not shared crosses
  processes as a copy (PyTorch moves it into shared memory), one sharing strategy
  (`file_system`), no CUDA tensor sharing.

## Name by name
Generated by `docs/gen_from_pytorch.py` against torch {torch_version} on {date}
(deltagrad {dg_version}, commit {commit}). *Same arguments*: both signatures could be read and
deltagrad's parameter names include torch's. *Arguments differ*: present, with the parameter
names shown as torch's → deltagrad's (a renamed first argument matters only when passed by
keyword; a missing one is a PyTorch option deltagrad does not take). Names in neither column
are C functions of torch whose signature Python cannot read. *Missing*: PyTorch
has it, `torch.xyz` raises under `run-torch`. *Extra*: deltagrad only.

| namespace | torch names | in deltagrad | same arguments | arguments differ | missing | extra |
|---|---|---|---|---|---|---|
"""


def public(obj):
    names = set()
    for n in dir(obj):
        if n.startswith("_"):
            continue
        try:
            v = getattr(obj, n)
        except Exception:
            continue
        if isinstance(v, types.ModuleType) and obj is not torch.Tensor:
            mod = getattr(obj, "__name__", "")
            if not getattr(v, "__name__", "").startswith(mod + "."):
                continue  # an imported helper module (os, warnings, ...), not a namespace
        if isinstance(v, types.ModuleType) and getattr(v, "__name__", "").split(".")[0] in (
                "typing", "collections", "math", "os", "sys", "warnings", "numpy"):
            continue
        if type(v).__name__ == "_Feature":
            continue  # from __future__ import annotations
        names.add(n)
    return names


def params(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [p.name for p in sig.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]


def compare(torch_obj, dg_obj):
    t, d = public(torch_obj), public(dg_obj)
    both, same, differ = sorted(t & d), [], []
    for n in both:
        pt, pd = params(getattr(torch_obj, n)), params(getattr(dg_obj, n))
        if pt is None or pd is None or inspect.ismodule(getattr(torch_obj, n)):
            continue
        if pt == pd[:len(pt)] or set(pt) <= set(pd):
            same.append(n)
        else:
            differ.append(f"`{n}` ({', '.join(pt)} → {', '.join(pd)})")
    extra = sorted(n for n in d - t if not inspect.ismodule(getattr(dg_obj, n)))
    return t, both, same, differ, sorted(t - d), extra


def fmt(names):
    return ", ".join(f"`{n}`" for n in names) if names else "(none)"


def main():
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    rows, sections = [], []
    targets = [(ns, __import__("importlib").import_module(ns), resolve(ns))
               for ns in NAMESPACES]
    targets.insert(1, ("torch.Tensor (methods)", torch.Tensor, dg.Tensor))
    for ns, tobj, dobj in targets:
        t, both, same, differ, missing, extra = compare(tobj, dobj)
        rows.append(f"| `{ns}` | {len(t)} | {len(both)} | {len(same)} | {len(differ)} | "
                    f"{len(missing)} | {len(extra)} |")
        sections.append(f"### `{ns}`\n\n**In both ({len(both)})**: {fmt(both)}\n\n"
                        + (f"**Arguments differ ({len(differ)})**: {'; '.join(differ)}\n\n"
                           if differ else "")
                        + f"**Missing ({len(missing)})**: {fmt(missing)}\n\n"
                        f"**Extra in deltagrad ({len(extra)})**: {fmt(extra)}\n")
    text = INTRO.format(torch_version=torch.__version__, date=datetime.date.today(),
                        dg_version=dg.__version__, commit=commit)
    text += "\n".join(rows) + "\n\n" + "\n".join(sections)
    with open(os.path.join(HERE, "from_pytorch.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote docs/from_pytorch.md ({len(targets)} namespaces)")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
