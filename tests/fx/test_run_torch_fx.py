"""A torch.fx program runs unchanged under ``python -m deltagrad.torch_compat`` and prints
exactly what it prints under PyTorch (generated code, graphs, node lists, rewritten code,
rounded values, the TraceError)."""
import os
import subprocess
import sys

from tests.conftest import requires_torch

PROGRAM = os.path.join(os.path.dirname(__file__), "programs", "fx_tour.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, *args, PROGRAM], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@requires_torch
def test_fx_program_prints_the_same_under_deltagrad_and_torch(tmp_path):
    ours = _run(["-m", "deltagrad.torch_compat"], str(tmp_path))
    theirs = _run([], str(tmp_path))
    assert "def forward(self, x, bias : float = 1.0):" in ours
    assert "TraceError: symbolically traced variables cannot be used as inputs to control " \
           "flow" in ours
    assert ours == theirs
