"""``deltagrad run-torch script.py [args...]``: run a PyTorch program on deltagrad.

``import torch`` (and ``torch.nn``, ``torch.optim.lr_scheduler``, ``torch.utils.data``, ...)
resolves to deltagrad while the script runs as ``__main__`` with ``sys.argv = [script,
args...]``; see ``deltagrad.torch_compat``. Everything after the script name is the script's,
``--help`` included.
"""
from __future__ import annotations

import os
import sys

USAGE = ("usage: deltagrad run-torch script.py [args...]\n\n"
         "Run a PyTorch program with 'import torch' resolving to deltagrad. What deltagrad "
         "lacks raises 'torch.xyz is not supported by deltagrad'.")


def add_parser(sub) -> None:
    sub.add_parser("run-torch", help="run a PyTorch program (script.py [args...]) with "
                   "'import torch' resolving to deltagrad", add_help=False)


def cmd_run_torch(args) -> int:
    argv = list(args.args)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if not os.path.isfile(argv[0]):
        print(f"deltagrad run-torch: error: no such script: {argv[0]!r}", file=sys.stderr)
        return 2
    from ..torch_compat import run_script
    run_script(argv[0], argv[1:])
    return 0
