"""Where a benchmark number comes from: the command, the commit, the date and the load."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def provenance(argv=None) -> dict:
    """``command``, ``commit``, ``date``, ``machine`` and ``load_average`` of this run."""
    args = sys.argv if argv is None else argv
    script = os.path.relpath(os.path.abspath(args[0]), ROOT) if args else "?"
    return {"command": "python " + " ".join([script] + list(args[1:])),
            "commit": git_commit(),
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "load_average": os.getloadavg()}
