"""The report opens in a real browser (headless Chromium) with every image loaded."""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from .conftest import cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed")


def _chromium(tmp_path, *args):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def test_report_renders_with_all_images_loaded(trained_run, tmp_path):
    from PIL import Image
    assert cli("report", trained_run).code == 0
    url = (trained_run / "report.html").resolve().as_uri()

    dom = _chromium(tmp_path, "--dump-dom", url).stdout
    n_img = len(re.findall(r"<img\b", dom))
    marker = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom)
    assert marker, "the page's load handler did not run"
    loaded, total = map(int, marker.groups())
    assert total == n_img >= 4 and loaded == total

    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", url)
    img = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert img.shape == (2000, 1200)
    assert img.std() > 10                          # not a blank page
    assert (img < 128).mean() > 0.01               # plenty of dark pixels (plots, text)
