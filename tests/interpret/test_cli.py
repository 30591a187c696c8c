"""``deltagrad interpret RUN --method M`` on a LeNet trained briefly on digits."""
import json
import os

import pytest

from tests.cli.conftest import FAST, cli
from deltagrad.interpret.cli import METHODS, interpret_cli
from deltagrad.train.run import RunError


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "lenet"
    r = cli("train", "lenet", *FAST, "--epochs", 1, "--out", out)
    assert r.code == 0, r
    return out


def _interpret(run, *args):
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = interpret_cli([str(run), *map(str, args)])
    return code, out.getvalue()


@pytest.mark.slow
def test_every_method_writes_its_figure(lenet_run):
    for method in METHODS:
        extra = ("--samples", 40) if method in ("fgsm", "pgd") else ()
        code, out = _interpret(lenet_run, "--method", method, "--index", 3, *extra)
        assert code == 0, out
        png = os.path.join(lenet_run, "plots", f"interpret_{method.replace('-', '_')}.png")
        with open(png, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(os.path.join(lenet_run, "interpret.json")) as f:
        record = json.load(f)
    acc = record["fgsm"]["accuracy"]
    assert acc[0] >= acc[-1] and record["fgsm"]["epsilons"][0] == 0.0


def test_bad_arguments_name_what_is_wrong(lenet_run):
    with pytest.raises(RunError, match="--target 12 is out of range for 10 classes"):
        _interpret(lenet_run, "--method", "saliency", "--target", 12)
    with pytest.raises(RunError, match="layer 'nope' is not in the model"):
        _interpret(lenet_run, "--method", "gradcam", "--layer", "nope")
    with pytest.raises(RunError, match="--index 99999 is out of range"):
        _interpret(lenet_run, "--method", "saliency", "--index", 99999)


def test_the_main_command_runs_interpret_and_the_report_shows_it(lenet_run):
    r = cli("interpret", lenet_run, "--method", "saliency", "--index", 1)
    assert r.code == 0, r
    assert "wrote" in r.out and "interpret_saliency.png" in r.out
    r = cli("report", lenet_run)
    assert r.code == 0, r
    with open(os.path.join(lenet_run, "report.html"), encoding="utf-8") as f:
        page = f.read()
    assert "Seeing inside" in page and 'id="interpret_saliency"' in page



def test_a_bad_argument_is_a_usage_error_of_the_command(lenet_run):
    r = cli("interpret", lenet_run, "--method", "saliency", "--target", 12)
    assert r.code == 2 and "deltagrad: error: --target 12 is out of range" in r.err
