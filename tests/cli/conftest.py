"""Helpers for the command-line tests: run ``deltagrad`` in-process or as a subprocess."""
import contextlib
import io
import os
import subprocess
import sys

import pytest

from deltagrad.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"Result(code={self.code}, out={self.out[-400:]!r}, err={self.err[-400:]!r})"


def _one_blas_thread():
    """Tiny matrices on a busy machine run far faster on one BLAS thread (two spinning
    OpenBLAS threads fight the other processes); threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def cli(*argv):
    """``deltagrad ARGV`` in this process; returns exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _one_blas_thread():
        code = main([str(a) for a in argv])
    return Result(code, out.getvalue(), err.getvalue())


def cli_process(*argv, **kwargs):
    """``python -m deltagrad ARGV`` as a child process (Popen, not waited for)."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "deltagrad", *map(str, argv)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


# A tiny, fast configuration on the bundled digits.
FAST = ("--dataset", "digits", "--batch-size", "64")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """An mlp trained 2 epochs on digits (shared by the tests of one module)."""
    out = tmp_path_factory.mktemp("run") / "mlp"
    r = cli("train", "mlp", *FAST, "--epochs", 2, "--out", out)
    assert r.code == 0, r
    return out
