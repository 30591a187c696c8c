"""deltagrad.allocator: freed array memory is kept for reuse (fewer page faults per step)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from deltagrad import allocator

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def _minor_faults_of_reallocating(n_mib: int) -> int:
    import resource
    a = np.ones(n_mib << 18, np.float32)
    del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        a = np.ones(n_mib << 18, np.float32)
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@linux_only
def test_applied_at_import_and_reallocation_does_not_fault():
    assert allocator.applied_at_import
    # 5 × 4 MiB of fresh pages would be ~5,000 faults; reused heap memory needs none
    assert _minor_faults_of_reallocating(4) < 500


@linux_only
def test_environment_variable_opts_out():
    code = ("import deltagrad.allocator as a, sys; sys.exit(0 if a.applied_at_import else 3)")
    env = dict(os.environ, DELTAGRAD_KEEP_FREED_MEMORY="0")
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 3
    env["DELTAGRAD_KEEP_FREED_MEMORY"] = "1"
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


def test_not_glibc_reports_false(monkeypatch):
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.keep_freed_memory(True) is False
