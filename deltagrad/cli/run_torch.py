"""``deltagrad run-torch script.py [args...]``: run a PyTorch program on deltagrad.

``deltagrad run-torch --twin [--steps N] [--rtol R] [--no-reference] script.py [args...]``
runs it under PyTorch and under deltagrad from the same weights, batches and random draws and
compares the losses step by step (``deltagrad.torch_compat.twin``; needs PyTorch installed).

``import torch`` (and ``torch.nn``, ``torch.optim.lr_scheduler``, ``torch.utils.data``, ...)
resolves to deltagrad while the script runs as ``__main__`` with ``sys.argv = [script,
args...]``; see ``deltagrad.torch_compat``. Everything after the script name is the script's,
``--help`` included.
"""
from __future__ import annotations

import os
import sys

USAGE = ("usage: deltagrad run-torch script.py [args...]\n"
         "       deltagrad run-torch --twin [--steps N] [--rtol R] [--no-reference] "
         "script.py [args...]\n\n"
         "Run a PyTorch program with 'import torch' resolving to deltagrad. What deltagrad "
         "lacks raises 'torch.xyz is not supported by deltagrad'.\n"
         "--twin: run it under PyTorch (which must be installed) and under deltagrad from "
         "the same weights, batches and random draws, and compare the losses of the first "
         "N backward calls (default 10); exit status 1 when they differ by more than rtol "
         "(default 1e-4) and by more than PyTorch drifts from itself.")


def add_parser(sub) -> None:
    sub.add_parser("run-torch", help="run a PyTorch program (script.py [args...]) with "
                   "'import torch' resolving to deltagrad", add_help=False)


def cmd_run_torch(args) -> int:
    argv = list(args.args)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--twin":
        from ..torch_compat.twin import main as twin_main
        return twin_main(argv[1:], prog="deltagrad run-torch --twin")
    if not os.path.isfile(argv[0]):
        print(f"deltagrad run-torch: error: no such script: {argv[0]!r}", file=sys.stderr)
        return 2
    from ..torch_compat import run_script
    run_script(argv[0], argv[1:])
    return 0
