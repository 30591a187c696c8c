"""A newcomer's first hour (issue 13): the corpus ships with the package, --data FILE, a copied
run samples and summarises without its data, the README's experiment recipe, --module and
entry points, and the command's surface (listing, --version, did-you-mean, plain help, one
error form, list lines that fit)."""
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

import deltagrad as dg
from deltagrad.datasets import text as text_mod
from deltagrad.experiments import registry

from .conftest import REPO, cli

README = os.path.join(REPO, "README.md")


def _corpus(path, n=5000):
    """A small UTF-8 text (letters, punctuation, newlines and an accented character)."""
    words = ("to be or not to be, that is the question: whether 'tis nobler in the mind "
             "to suffer the slings and arrows of outrageous fortune. Café!\n").split(" ")
    out, i = [], 0
    while sum(map(len, out)) + len(out) < n:
        out.append(words[i % len(words)])
        i += 1
    path.write_text(" ".join(out)[:n], encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the corpus
def test_tiny_shakespeare_ships_with_the_package(monkeypatch):
    monkeypatch.delenv("DELTAGRAD_DATA", raising=False)
    path = text_mod.find_tiny_shakespeare()
    package = os.path.dirname(dg.__file__)
    assert path == os.path.join(package, "datasets", "data", "tinyshakespeare.txt")
    assert os.path.getsize(path) == 1115394
    # a non-editable install carries it: pyproject.toml declares it as package data
    import tomllib
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        package_data = tomllib.load(f)["tool"]["setuptools"]["package-data"]
    patterns = package_data["deltagrad.datasets"]
    assert any(glob.fnmatch.fnmatch("data/tinyshakespeare.txt", p) for p in patterns)
    # no path into a folder beside the project is left in the package
    for py in glob.glob(os.path.join(package, "**", "*.py"), recursive=True):
        with open(py, encoding="utf-8") as f:
            assert "shared/data" not in f.read(), py


# ----------------------------------------------------------------------------- --data FILE
@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """char-gru trained one epoch on a 5,000-character file given with --data."""
    tmp = tmp_path_factory.mktemp("textrun")
    corpus = _corpus(tmp / "corpus.txt")
    out = tmp / "run"
    r = cli("train", "char-gru", "--data", corpus, "--epochs", 1, "--batch-size", 16,
            "--out", out)
    assert r.code == 0, r
    return corpus, out


def test_data_flag_trains_a_character_model_on_any_text_file(text_run):
    import json
    corpus, out = text_run
    with open(out / "config.json") as f:
        config = json.load(f)
    assert config["settings"]["dataset"] == str(corpus)
    with open(out / "vocab.json", encoding="utf-8") as f:
        vocab = json.load(f)
    assert vocab["classes"] == sorted(set(corpus.read_text(encoding="utf-8")))
    assert "é" in vocab["classes"] and vocab["input_dtype"] == "int64"


def test_a_copied_run_samples_and_summarises_without_its_data(text_run, tmp_path,
                                                              monkeypatch):
    corpus, out = text_run
    copy = tmp_path / "elsewhere" / "run"
    shutil.copytree(out, copy)
    hidden = tmp_path / "gone.txt"
    corpus.rename(hidden)  # the corpus is no longer where the run found it ...
    monkeypatch.setattr(text_mod, "BUNDLED_TINY_SHAKESPEARE", str(tmp_path / "none.txt"))
    monkeypatch.delenv("DELTAGRAD_DATA", raising=False)
    try:
        assert text_mod.find_tiny_shakespeare() is None  # ... nor is any other corpus
        r = cli("sample", copy, "--length", 80, "--seed", 1)
        assert r.code == 0, r
        vocab = set(hidden.read_text(encoding="utf-8"))
        text = r.out[:-1]
        assert len(text) == 80 and set(text) <= vocab
        r = cli("summary", copy)
        assert r.code == 0, r
        assert "GRU" in r.out and "Embedding" in r.out
        # 2·3·(64 + 512)·512 per step of the GRU, over the 100 steps of one sample
        assert f"{2 * 3 * (64 + 512) * 512 * 100:,}" in r.out
        # evaluating needs the test text: a clear error, not a traceback
        r = cli("evaluate", copy)
        assert r.code in (1, 2) and r.err.startswith("deltagrad: error: ")
        assert "no text file" in r.err and "sample and summary of a run need only" in r.err
    finally:
        hidden.rename(corpus)


@pytest.mark.parametrize("content, message", [
    (None, "no text file at"),
    (b"", "is empty"),
    (b"  \n\n ", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    (b"caf\xe9 au lait " * 200, "not UTF-8 text"),
], ids=["missing", "empty", "blank", "binary", "latin-1"])
def test_data_flag_refuses_missing_empty_and_binary_files(tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    r = cli("train", "char-lstm", "--data", path, "--out", tmp_path / "run")
    assert r.code == 2 and r.err.startswith("deltagrad: error: --data: "), r
    assert message in r.err and str(path) in r.err
    assert not (tmp_path / "run").exists()  # refused before any run folder is made


def test_data_flag_errors_name_what_was_expected(tmp_path):
    short = _corpus(tmp_path / "short.txt", n=300)
    r = cli("train", "char-rnn", "--data", short, "--epochs", 1, "--out", tmp_path / "r1")
    assert r.code == 1 and "too short" in r.err and "1,010" in r.err, r
    r = cli("train", "char-rnn", "--data", tmp_path, "--out", tmp_path / "r2")
    assert r.code == 2 and "is not a file" in r.err
    r = cli("train", "mlp", "--data", short, "--out", tmp_path / "r3")
    assert r.code == 2 and "--data FILE is for the text experiments" in r.err
    assert "char-lstm" in r.err
    r = cli("train", "char-rnn", "--data", short, "--dataset", "tinyshakespeare",
            "--out", tmp_path / "r4")
    assert r.code == 2 and "not both" in r.err


# ----------------------------------------------------------------------------- experiments
def _readme_experiment_snippet() -> str:
    with open(README, encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("Adding an experiment"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _registered_by(source):
    """Forget what loading ``source`` registered (the registry is process-wide)."""
    for key, names in list(registry._LOADED.items()):
        if key.endswith(source):
            for n in names:
                registry._REGISTRY.pop(n, None)
            del registry._LOADED[key]


def test_readme_recipe_a_new_file_in_the_experiments_folder_is_found(tmp_path):
    """The README's recipe word for word: a new file in deltagrad/experiments/ and nothing
    else (no import line to add) registers its experiment."""
    shutil.copytree(os.path.join(REPO, "deltagrad"), tmp_path / "deltagrad",
                    ignore=shutil.ignore_patterns("__pycache__", "*.txt"))
    (tmp_path / "deltagrad" / "experiments" / "wide.py").write_text(
        _readme_experiment_snippet(), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), OPENBLAS_NUM_THREADS="1", COLUMNS="200")
    r = subprocess.run([sys.executable, "-m", "deltagrad", "list"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("mlp-wide "))
    assert "MLP 784-1024-10 on Fashion-MNIST" in line and "width vs depth" in line


def test_module_flag_trains_a_users_experiment_and_the_run_remembers_it(tmp_path):
    user = tmp_path / "my_experiments.py"
    user.write_text(_readme_experiment_snippet(), encoding="utf-8")
    try:
        r = cli("list", "--module", user, "--wide")
        assert r.code == 0 and "mlp-wide" in r.out, r
        r = cli("train", "--module", user, "mlp-wide", "--dataset", "digits", "--epochs", 1,
                "--batch-size", 64, "--out", tmp_path / "run")
        assert r.code == 0, r
        assert registry.get_experiment("mlp-wide").module == str(user)
        # a new process (no --module given) finds the experiment through config.json
        _registered_by("my_experiments.py")
        r = cli("evaluate", tmp_path / "run", "--json")
        assert r.code == 0 and '"experiment": "mlp-wide"' in r.out, r
        r = cli("summary", tmp_path / "run")
        assert r.code == 0 and f"{2 * 64 * 1024 + 2 * 1024 * 10:,}" in r.out, r
    finally:
        _registered_by("my_experiments.py")


def test_module_flag_takes_a_dotted_module_and_reports_bad_ones(tmp_path, monkeypatch):
    pkg = tmp_path / "labexps"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "wide.py").write_text(_readme_experiment_snippet().replace("mlp-wide", "lab-wide"))
    (tmp_path / "broken.py").write_text("import no_such_package_here\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        r = cli("list", "--module", "labexps.wide", "--wide")
        assert r.code == 0 and "lab-wide" in r.out, r
    finally:
        _registered_by("labexps.wide")
        sys.modules.pop("labexps.wide", None)
        sys.modules.pop("labexps", None)
    r = cli("train", "--module", "no_such.module", "mlp")
    assert r.code == 2 and "deltagrad: error: --module: no module named 'no_such.module'" \
        in r.err, r
    r = cli("list", "--module", "missing.py")
    assert r.code == 2 and "no Python file at 'missing.py'" in r.err
    r = cli("list", "--module", "broken.py")
    assert r.code == 2 and "importing it failed (ModuleNotFoundError" in r.err


def test_entry_point_group_registers_an_installed_distributions_experiments(tmp_path,
                                                                           monkeypatch):
    dist = tmp_path / "labplug-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: labplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[deltagrad.experiments]\nlab = labplug_exps\n")
    (tmp_path / "labplug_exps.py").write_text(
        _readme_experiment_snippet().replace("mlp-wide", "plug-wide"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry.load_entry_points(force=True)
        exp = registry.get_experiment("plug-wide")
        assert exp.module == "labplug_exps" and exp.lr == 1e-3
    finally:
        _registered_by("labplug_exps")
        sys.modules.pop("labplug_exps", None)


# ----------------------------------------------------------------------------- the surface
def test_bare_command_lists_the_commands_and_version():
    r = cli()
    assert r.code == 2
    for command in ("list", "train", "evaluate", "report", "sample", "summary", "trace"):
        assert re.search(rf"^\s+{command}\s+\S", r.out, re.M), command
    r = cli("--version")
    assert r.code == 0 and r.out.strip() == f"deltagrad {dg.__version__}"


def test_did_you_mean_for_commands_experiments_and_models():
    r = cli("trian", "mlp")
    assert r.code == 2 and "(did you mean 'train'" in r.err
    r = cli("train", "char-lsmt")
    assert r.code == 2 and "(did you mean 'char-lstm'?)" in r.err
    r = cli("summary", "LeNet")
    assert r.code == 2 and "did you mean" in r.err and "lenet" in r.err.lower()


def _subcommands():
    import argparse
    from deltagrad.cli import build_parser
    action = next(a for a in build_parser()._actions
                  if isinstance(a, argparse._SubParsersAction))
    return sorted(action.choices)


@pytest.mark.parametrize("command", [[]] + [[c] for c in _subcommands()])
def test_help_texts_are_plain_text(command):
    r = cli(*command, "--help")
    assert r.code == 0 and r.out
    for markup in ("`", "**", "$\\", ":func:", ":class:", "\\mathbf"):
        assert markup not in r.out, (command, markup)


def test_every_error_has_one_prefix(tmp_path):
    errors = [cli("train", "nope"), cli("train", "mlp", "--epochs", "0"),
              cli("evaluate", tmp_path / "absent"), cli("summary", "nope"),
              cli("trace", "--sizes", "2"), cli("sample", tmp_path), cli("fly")]
    for r in errors:
        assert r.code == 2, r
        last = r.err.strip().splitlines()[-1]
        assert last.startswith("deltagrad: error: "), r.err
        assert "Traceback" not in r.err


def test_list_lines_fit_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    r = cli("list")
    lines = r.out.splitlines()
    assert r.code == 0 and len(lines) >= 20
    assert all(len(line) <= 60 for line in lines)
    assert any(line.endswith("…") for line in lines)
    r = cli("list", "--wide")
    assert max(map(len, r.out.splitlines())) > 60


def test_summary_of_embedding_experiments():
    """Every model that starts with an Embedding failed on a float dummy input before."""
    r = cli("summary", "seq2seq-reverse")
    assert r.code == 0 and "Embedding" in r.out and "LSTM" in r.out, r
    # encoder and decoder LSTMs: 2·4·(16 + 128)·128 per step, 8 steps each
    flops = int(re.search(r"Total FLOPs per sample: ([\d,]+)", r.out).group(1).replace(",", ""))
    assert flops >= 2 * (2 * 4 * (16 + 128) * 128 * 8)


# ----------------------------------------------------------------------------- README, CI
VENV = "python3 -m venv .venv && . .venv/bin/activate && "


def test_readme_starts_with_the_two_commands_in_a_virtualenv_and_ci_runs_the_second():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"```bash\n(.*?)\n```", text, re.S)
    train, tests = blocks[0], blocks[1]
    assert text.index("```bash") < text.index("\n## ")  # before any section
    assert train.startswith(VENV) and train.endswith("&& deltagrad train mlp")
    assert tests.startswith(VENV) and tests.endswith("python3 -m pytest -n 2 -q")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in tests
    assert "python3-venv" in text
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as f:
        ci = [line for line in f.read().splitlines() if not line.startswith("#")]
    assert tests[len(VENV):] in ci


def test_confusion_matrix_of_ten_classes_fits_80_columns(trained_run):
    r = cli("evaluate", trained_run)
    assert r.code == 0, r
    table = r.out[r.out.index("confusion matrix"):].splitlines()
    assert len(table) == 12 and max(map(len, table)) <= 80, table


def test_did_you_mean_for_settings():
    r = cli("train", "mlp", "--optimizer", "adm")
    assert r.code == 2 and "(did you mean 'adam'" in r.err, r
    r = cli("train", "mlp", "--dataset", "fashion")
    assert r.code == 2 and "(did you mean 'fashion-mnist'?)" in r.err, r
    r = cli("train", "char-rnn", "--dataset", "shakespeare")
    assert r.code == 2 and "(did you mean 'tinyshakespeare'?)" in r.err and "--data FILE" in r.err
    r = cli("train", "char-rnn", "--dataset", "auto")  # auto picks an image set
    assert r.code == 2 and "trains on tinyshakespeare, not 'auto'" in r.err, r


def test_summary_of_a_run_that_finished_no_epoch(text_run, tmp_path):
    _, out = text_run
    fresh = tmp_path / "fresh"
    shutil.copytree(out, fresh)
    for name in ("checkpoint.npz", "best.npz", "metrics.jsonl"):
        (fresh / name).unlink(missing_ok=True)
    r = cli("summary", fresh)
    assert r.code == 0 and "GRU" in r.out, r


def test_a_broken_entry_point_is_skipped_with_a_warning(tmp_path, monkeypatch):
    dist = tmp_path / "brokenplug-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[deltagrad.experiments]\nbad = brokenplug_exps\n")
    (tmp_path / "brokenplug_exps.py").write_text("raise RuntimeError('half-written plugin')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    try:
        r = cli("list", "--wide")
        assert r.code == 0 and "mlp " in r.out, r
        assert "deltagrad: warning: entry point bad = brokenplug_exps" in r.err
        assert "half-written plugin" in r.err
    finally:
        sys.modules.pop("brokenplug_exps", None)
