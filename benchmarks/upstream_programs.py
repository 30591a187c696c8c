"""The real upstream PyTorch programs (pytorch/examples, karpathy/nanoGPT, minGPT, makemore),
run unchanged under real torch and under ``python -m deltagrad.torch_compat``.

    python benchmarks/upstream_programs.py --examples ~/upstream/examples \\
        [--nanogpt DIR] [--mingpt DIR] [--makemore DIR] [--only mnist,vae] [--timeout 900]

The checkouts are the user's own (``git clone`` them anywhere); this script copies each
program's folder into a temporary directory and runs it there, byte for byte unchanged, with
small arguments through the program's own command line. Only the data is synthetic:
``benchmarks/upstream/torchvision_synthetic`` stands in for torchvision (on PYTHONPATH for
both runs), and text corpora, image folders and token files are written into the run folder.

Each run is a fresh process with one thread. The printed losses are parsed from the output.
torch and deltagrad initialise weights (and draw batches, noise, dropout masks) with their
own random generators, so these two plain runs do not start from the same weights: per
program the JSON says whether each library ran it to the end, the losses each printed, the
relative difference of the first loss and whether both fell.

Then the same-weights comparison (``same_weights``; ``--twin-steps``, default 10):
``deltagrad.torch_compat.twin`` runs the program under PyTorch recording each model's weights,
every DataLoader batch and every random draw (dropout masks included), replays them under
deltagrad, and compares the losses of the first backward calls; a third run, PyTorch replaying
from weights one ulp away, measures how far PyTorch drifts from itself in the same steps.
Writes results/upstream_programs.json.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
from benchmarks.record import provenance  # noqa: E402

TORCHVISION_STAND_IN = os.path.join(HERE, "upstream", "torchvision_synthetic")
FLOAT = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"


# --- synthetic data written into a run folder -------------------------------------------

def synthetic_sentences(n_lines, seed=0, vocabulary=200):
    """Lines of made-up words with a little structure (a word depends on the one before)."""
    rng = np.random.default_rng(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "po", "se", "di", "fa", "gu", "he"]
    words = ["".join(rng.choice(syllables, rng.integers(1, 4))) for _ in range(vocabulary)]
    successor = rng.integers(0, vocabulary, (vocabulary, 3))
    lines = []
    for _ in range(n_lines):
        w = int(rng.integers(vocabulary))
        out = []
        for _ in range(int(rng.integers(5, 15))):
            out.append(words[w])
            w = int(successor[w, rng.integers(3)])
        lines.append(" ".join(out) + " .")
    return lines


def write_wikitext(run_dir):
    """``data/synthetic/{train,valid,test}.txt`` in wikitext-2's layout."""
    folder = os.path.join(run_dir, "data", "synthetic")
    os.makedirs(folder)
    for split, n, seed in (("train", 400, 0), ("valid", 60, 1), ("test", 60, 2)):
        with open(os.path.join(folder, f"{split}.txt"), "w") as f:
            f.write("".join(f" {line} \n" for line in synthetic_sentences(n, seed)))


def write_bsds300(run_dir):
    """``dataset/BSDS300/images/{train,test}/*.jpg``: 8 + 4 synthetic 321x481 photos."""
    from PIL import Image
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:321, 0:481] / 481.0
    for split, n in (("train", 8), ("test", 4)):
        folder = os.path.join(run_dir, "dataset", "BSDS300", "images", split)
        os.makedirs(folder)
        for i in range(n):
            f = rng.uniform(2, 12, 3)
            rgb = 0.5 + 0.5 * np.sin(f[None, None] * (xx[..., None] + yy[..., None] * f[::-1]))
            rgb = 255 * np.clip(0.8 * rgb + 0.2 * rng.random(rgb.shape), 0, 1)
            Image.fromarray(rgb.astype(np.uint8)).save(os.path.join(folder, f"{i}.jpg"))


def write_chargpt_input(run_dir):
    """``input.txt`` for minGPT's chargpt; its first line holds the characters of the
    prompt the program samples from ("O God, O God!")."""
    with open(os.path.join(run_dir, "input.txt"), "w") as f:
        f.write("O God, O God!\n" + "\n".join(synthetic_sentences(600)) + "\n")


def write_nanogpt_chars(run_dir):
    """``data/synthetic_char/{train,val}.bin`` (uint16 ids) and ``meta.pkl`` as
    ``data/shakespeare_char/prepare.py`` writes them."""
    text = "\n".join(synthetic_sentences(800))
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.uint16)
    folder = os.path.join(run_dir, "data", "synthetic_char")
    os.makedirs(folder)
    cut = int(0.9 * len(ids))
    ids[:cut].tofile(os.path.join(folder, "train.bin"))
    ids[cut:].tofile(os.path.join(folder, "val.bin"))
    with open(os.path.join(folder, "meta.pkl"), "wb") as f:
        pickle.dump({"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi}, f)


def write_names(run_dir):
    """``names.txt``: one made-up word a line (makemore's input)."""
    words = sorted({w for line in synthetic_sentences(300) for w in line.split() if w != "."})
    with open(os.path.join(run_dir, "names.txt"), "w") as f:
        f.write("\n".join(words) + "\n")


# --- the programs --------------------------------------------------------------------------

@dataclasses.dataclass
class Program:
    name: str
    checkout: str            # which checkout: examples, nanogpt, mingpt, makemore
    folder: str              # copied into the run directory; the program runs inside it
    script: str
    args: list
    loss: str | None         # regex whose group 1 is a printed loss (None: prints none)
    setup: object = None     # run_dir -> None, writes synthetic data
    before: list = dataclasses.field(default_factory=list)  # scripts run first, same launcher
    after: list = dataclasses.field(default_factory=list)   # [script, *args] run afterwards
    crossed: list = dataclasses.field(default_factory=list)  # ... run by the other library
    env: dict = dataclasses.field(default_factory=dict)
    max_losses: int = 0      # stop the program once this many losses were printed (0: no)
    package_root: bool = False  # put the checkout's root on PYTHONPATH (import mingpt)
    higher_is_better: bool = False  # the printed number is a reward, not a loss
    note: str = ""           # what the numbers mean, where that is not obvious
    twin_extra: list = dataclasses.field(default_factory=list)  # args added for the twin
    twin_note: str = ""      # why
    twin_skip: str = ""      # why the same-weights comparison is not run ("": it is)


WLM_TWIN_NOTE = ("same-weights comparison with --nlayers 1: PyTorch drops out between the "
                 "layers of a multi-layer RNN inside its C++ kernel, which the twin cannot "
                 "tape; the program's nn.Dropout layers stay on")
NANOGPT_SAMPLE = ["sample.py", "--out_dir=out-shakespeare-char", "--device=cpu",
                  "--compile=False", "--num_samples=1", "--max_new_tokens=30", "--start=ka",
                  "--dtype=float32"]
GENERATE = ["generate.py", "--data", "data/synthetic", "--words", "50"]
SMALL_MNIST = {"SYNTHETIC_TRAIN_SIZE": "640", "SYNTHETIC_TEST_SIZE": "200"}
PROGRAMS = [
    Program("mnist", "examples", "mnist", "main.py",
            ["--epochs", "1", "--no-accel", "--log-interval", "1", "--test-batch-size", "200",
             "--save-model"],
            r"Loss: " + FLOAT, env=SMALL_MNIST),
    Program("vae", "examples", "vae", "main.py",
            ["--epochs", "1", "--no-accel", "--log-interval", "1", "--batch-size", "64"],
            r"\tLoss: " + FLOAT, env=SMALL_MNIST),
    Program("dcgan", "examples", "dcgan", "main.py",
            ["--dataset", "fake", "--niter", "1", "--batchSize", "16", "--imageSize", "64",
             "--ngf", "16", "--ndf", "16", "--manualSeed", "1"],
            r"Loss_D: " + FLOAT, env={"SYNTHETIC_TRAIN_SIZE": "96"}),
    Program("dcgan mnist", "examples", "dcgan", "main.py",
            ["--dataset", "mnist", "--dataroot", "unused", "--niter", "1", "--batchSize", "16",
             "--ngf", "16", "--ndf", "16", "--manualSeed", "1"],
            r"Loss_D: " + FLOAT, env={"SYNTHETIC_TRAIN_SIZE": "96"}),
    *[Program(f"word_language_model {name}", "examples", "word_language_model", "main.py",
              ["--data", "data/synthetic", *model, "--epochs", "1", "--emsize", "32",
               "--nhid", "32", "--bptt", "20", "--batch_size", "10", "--log-interval", "5"],
              r"loss\s+" + FLOAT, setup=write_wikitext, after=[GENERATE],
              twin_extra=["--nlayers", "1"] if recurrent else [],
              twin_note=WLM_TWIN_NOTE if recurrent else "")
      for name, model, recurrent in (("LSTM", [], True),
                                     ("GRU --tied", ["--model", "GRU", "--tied"], True),
                                     ("RNN_TANH", ["--model", "RNN_TANH"], True),
                                     ("Transformer", ["--model", "Transformer", "--lr", "2"],
                                      False))],
    Program("regression", "examples", "regression", "main.py", [],
            r"Loss: " + FLOAT, note="prints only the final loss, once it is below 1e-3; "
            "the first-loss difference compares two numbers under 1e-3"),
    Program("mnist_rnn", "examples", "mnist_rnn", "main.py",
            ["--epochs", "1", "--log-interval", "1", "--test-batch-size", "200"],
            r"Loss: " + FLOAT, env=SMALL_MNIST),
    Program("mnist_forward_forward", "examples", "mnist_forward_forward", "main.py",
            ["--epochs", "20", "--no_accel", "--train_size", "640", "--test_size", "200"],
            r"Loss:\s+" + FLOAT, env=SMALL_MNIST),
    Program("siamese_network", "examples", "siamese_network", "main.py",
            ["--epochs", "1", "--no-accel", "--log-interval", "1", "--batch-size", "32",
             "--test-batch-size", "100"],
            r"Loss: " + FLOAT, env={"SYNTHETIC_TRAIN_SIZE": "320", "SYNTHETIC_TEST_SIZE": "100"},
            note="pairs images with Python's unseeded random module: its batches differ "
            "from run to run under either library"),
    Program("mnist_hogwild", "examples", "mnist_hogwild", "main.py",
            ["--epochs", "1", "--num-processes", "2", "--log-interval", "1",
             "--test-batch-size", "200"],
            r"Loss: " + FLOAT, env=SMALL_MNIST,
            note="Hogwild: spawned workers update one model in shared memory at once; their "
            "updates interleave differently in every run, under either library",
            twin_skip="the training runs in spawned child processes, whose updates interleave "
            "differently in every run; the twin taps one process"),
    Program("super_resolution", "examples", "super_resolution", "main.py",
            ["--upscale_factor", "3", "--batchSize", "4", "--testBatchSize", "4", "--nEpochs",
             "2", "--lr", "0.001"],
            r"Loss: " + FLOAT, setup=write_bsds300,
            after=[["super_resolve.py", "--input_image", "dataset/BSDS300/images/test/0.jpg",
                    "--model", "model_epoch_2.pth", "--output_filename", "out.png"]]),
    Program("reinforce", "examples", "reinforcement_learning", "reinforce.py", [],
            r"Average reward: " + FLOAT, max_losses=10, higher_is_better=True,
            note="running average reward of CartPole-v1 (gymnasium), stopped after 100 "
            "episodes"),
    Program("actor_critic", "examples", "reinforcement_learning", "actor_critic.py", [],
            r"Average reward: " + FLOAT, max_losses=10, higher_is_better=True,
            note="running average reward of CartPole-v1 (gymnasium), stopped after 100 "
            "episodes"),
    Program("time_sequence_prediction", "examples", "time_sequence_prediction", "train.py",
            ["--steps", "2"], r"^loss: " + FLOAT, before=["generate_sine_wave.py"],
            note="torch.save writes a NumPy array; torch.load's weights_only=True default "
            "(PyTorch >= 2.6) refuses it, in PyTorch and in deltagrad alike",
            twin_skip="the program stops before training under PyTorch itself (see note)"),
    Program("imagenet resnet18 --dummy", "examples", "imagenet", "main.py",
            ["-a", "resnet18", "--dummy", "-b", "4", "--epochs", "1", "-p", "1", "-j", "0",
             "--no-accel"],
            r"Loss " + FLOAT, env={"SYNTHETIC_TRAIN_SIZE": "16"},
            note="FakeData has random labels: 4 steps of ResNet-18 at 224x224, losses "
            "near ln(1000), no learning expected"),
    *[Program(f"fx {script[:-3]}", "examples", "fx", script, [], None,
              note="torch.fx: symbolic tracing and graph rewriting, no training; the two "
              "libraries' printed output is compared instead (memory addresses masked)")
      for script in ("invert.py", "replace_op.py", "custom_tracer.py", "inline_function.py",
                     "primitive_library.py", "proxy_based_graph_creation.py",
                     "subgraph_rewriter_basic_use.py", "wrap_output_dynamically.py",
                     "module_tracer.py", "profiling_tracer.py")],
    Program("nanoGPT", "nanogpt", ".", "train.py",
            ["config/train_shakespeare_char.py", "--dataset=synthetic_char", "--device=cpu",
             "--compile=False", "--eval_iters=2", "--eval_interval=10", "--log_interval=1",
             "--block_size=32", "--batch_size=8", "--n_layer=2", "--n_head=2", "--n_embd=32",
             "--max_iters=20", "--lr_decay_iters=20", "--warmup_iters=2", "--dropout=0.0",
             "--dtype=float32"],
            r"iter \d+: loss " + FLOAT, setup=write_nanogpt_chars,
            after=[NANOGPT_SAMPLE], crossed=[NANOGPT_SAMPLE],
            note="then sample.py from the checkpoint, by the same library and by the other "
            "one (a deltagrad ckpt.pt read by torch.load and the reverse)"),
    Program("minGPT chargpt", "mingpt", "projects/chargpt", "chargpt.py",
            ["--trainer.max_iters=31", "--trainer.batch_size=8", "--trainer.num_workers=0",
             "--trainer.device=cpu", "--model.model_type=gpt-nano", "--data.block_size=32"],
            r"train loss " + FLOAT, setup=write_chargpt_input,
            package_root=True),
    Program("makemore transformer", "makemore", ".", "makemore.py",
            ["-i", "names.txt", "-o", "out", "--max-steps", "40", "--num-workers", "0",
             "--n-layer", "2", "--n-embd", "32", "--n-embd2", "32", "--batch-size", "16"],
            r"step \d+ \| loss " + FLOAT, setup=write_names),
    Program("makemore rnn", "makemore", ".", "makemore.py",
            ["-i", "names.txt", "-o", "out", "--max-steps", "40", "--num-workers", "0",
             "--type", "rnn", "--n-embd", "32", "--n-embd2", "32", "--batch-size", "16"],
            r"step \d+ \| loss " + FLOAT, setup=write_names),
]


#: pytorch/examples folders not run, and why (neither library can run them here)
NOT_RUN = {
    "fast_neural_style": "needs VGG-16 ImageNet weights (training) or the saved style models "
                         "(eval), both downloaded",
    "gcn, gat": "download the Cora data set with requests on every run",
    "language_translation, legacy/snli": "need spaCy language models and torchtext downloads",
    "distributed/*": "several processes (torchrun, NCCL/Gloo); not a single-process program",
    "cpp/*": "C++ (libtorch)",
}


# --- running -------------------------------------------------------------------------------

def environment(program, checkout):
    paths = [ROOT, TORCHVISION_STAND_IN] + ([checkout] if program.package_root else [])
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONHASHSEED="0", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]))
    env.update(program.env)
    return env


@contextlib.contextmanager
def run_folder(program, checkout):
    """A fresh temporary copy of the program's folder with its synthetic data written, and
    the environment to run it in: yields (folder, env)."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = os.path.join(tmp, "run")
        shutil.copytree(os.path.join(checkout, program.folder), run_dir)
        if program.setup:
            program.setup(run_dir)
        yield run_dir, environment(program, checkout)


def run_once(program, checkout, launcher, other_launcher, timeout):
    """One library's run in a fresh copy of the program's folder. Returns a dict with
    ``ran`` (exit 0, or stopped by us after ``max_losses``), ``losses``, ``wall_s`` and the
    error's last lines."""
    with run_folder(program, checkout) as (run_dir, env):
        for script in program.before:
            proc = subprocess.run([sys.executable, *launcher, script], cwd=run_dir, env=env,
                                  capture_output=True, text=True, timeout=timeout)
            if proc.returncode:
                return {"ran": False, "losses": [], "wall_s": 0.0,
                        "error": f"{script}: " + proc.stderr.strip()[-1500:]}
        pattern = re.compile(program.loss or r"(?!x)x", re.MULTILINE)  # None: never matches
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *launcher, program.script, *program.args],
                                cwd=run_dir, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        losses, stopped, printed = [], False, []
        try:
            for line in proc.stdout:
                printed.append(line)
                losses += [float(m) for m in pattern.findall(line)]
                if program.max_losses and len(losses) >= program.max_losses:
                    stopped = True
                    proc.kill()
                    break
                if time.perf_counter() - t0 > timeout:
                    proc.kill()
                    break
            err = proc.stderr.read()
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
        ran = proc.returncode == 0 or stopped
        followers = [(launcher, a) for a in program.after] + \
            [(other_launcher, a) for a in program.crossed]
        for follower, (script, *script_args) in followers if ran else ():
            done = subprocess.run([sys.executable, *follower, script, *script_args],
                                  cwd=run_dir, env=env, capture_output=True, text=True,
                                  timeout=timeout)
            if done.returncode:
                by = "the other library's " if follower is other_launcher else ""
                ran, err = False, f"{by}{script}: " + done.stderr
                break
        wall = time.perf_counter() - t0
        result = {"ran": ran, "losses": losses, "wall_s": round(wall, 2)}
        if program.loss is None:  # nothing to parse: the output itself is compared
            result["stdout"] = re.sub(r"0x[0-9a-f]+", "0x...", "".join(printed))[-20000:]
        if not ran:
            result["error"] = (err.strip() or f"stopped after {timeout} s")[-1500:]
        if stopped:
            result["stopped_after_losses"] = program.max_losses
        return result


def run_twin(program, checkout, steps, timeout):
    """The program under PyTorch (recording) and under deltagrad (replaying the weights,
    batches and random draws; ``deltagrad.torch_compat.twin``): the losses of its first
    ``steps`` backward calls side by side."""
    from deltagrad.torch_compat.twin import compare as twin_compare
    with run_folder(program, checkout) as (run_dir, env):
        for script in program.before:
            subprocess.run([sys.executable, script], cwd=run_dir, env=env, check=True,
                           capture_output=True, timeout=timeout)
        args = program.args + program.twin_extra
        t0 = time.perf_counter()
        try:
            result = twin_compare(program.script, args, steps=steps, env=env, cwd=run_dir,
                                  stdout=subprocess.DEVNULL, timeout=timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            return {"compared": False, "error": str(e)[-1500:], "args": args}
    return {"compared": True, "args": args, "note": program.twin_note,
            "wall_s": round(time.perf_counter() - t0, 2),
            **{k: result[k] for k in ("steps_compared", "max_relative_difference", "equal",
                                      "pytorch_drift", "within_pytorch_drift", "taped",
                                      "unreplayed")},
            "losses_torch_deltagrad_drift": [[r["torch"], r["deltagrad"], r["pytorch_drift"]]
                                             for r in result["losses"]]}


def compare(torch_run, dg_run, higher_is_better=False):
    """First-loss relative difference and whether each run's losses fell (last < first; for
    a reward: rose)."""
    a, b = torch_run["losses"], dg_run["losses"]
    if not (a and b):
        return {}
    out = {"losses_printed": [len(a), len(b)],
           "first_loss_relative_difference": round(abs(b[0] - a[0]) / max(abs(a[0]), 1e-12), 4),
           "torch_first_last": [a[0], a[-1]], "deltagrad_first_last": [b[0], b[-1]]}
    if len(a) > 1 and len(b) > 1:
        sign = -1 if higher_is_better else 1
        out["both_improved"] = bool(sign * (a[-1] - a[0]) < 0 and sign * (b[-1] - b[0]) < 0)
    return out


def checkout_commit(path):
    """The checkout's git commit, or None for an exported tree without ``.git``."""
    proc = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", help="a checkout of github.com/pytorch/examples")
    parser.add_argument("--nanogpt", help="a checkout of github.com/karpathy/nanoGPT")
    parser.add_argument("--mingpt", help="a checkout of github.com/karpathy/minGPT")
    parser.add_argument("--makemore", help="a checkout of github.com/karpathy/makemore")
    parser.add_argument("--only", help="comma-separated program names (default: all)")
    parser.add_argument("--twin-steps", type=int, default=10,
                        help="backward calls compared from the same weights, batches and "
                             "draws (0: skip the comparison)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds per run before it counts as not finished")
    parser.add_argument("--out", default=os.path.join(HERE, "results",
                                                       "upstream_programs.json"))
    args = parser.parse_args(argv)
    checkouts = {"examples": args.examples, "nanogpt": args.nanogpt, "mingpt": args.mingpt,
                 "makemore": args.makemore}
    for key, path in checkouts.items():
        if path and not os.path.isdir(path):
            parser.error(f"--{key}: no such folder: {path!r}")
    only = set(args.only.split(",")) if args.only else None
    chosen = [p for p in PROGRAMS if checkouts[p.checkout] and (only is None or p.name in only)]
    if not chosen:
        parser.error("no program to run: give --examples (and/or --nanogpt, --mingpt, "
                     "--makemore), and --only names from: "
                     + ", ".join(p.name for p in PROGRAMS))
    rows = []
    for program in chosen:
        checkout = checkouts[program.checkout]
        as_torch, as_deltagrad = [], ["-m", "deltagrad.torch_compat"]
        torch_run = run_once(program, checkout, as_torch, as_deltagrad, args.timeout)
        dg_run = run_once(program, checkout, as_deltagrad, as_torch, args.timeout)
        row = {"program": program.name, "script": os.path.join(program.folder, program.script),
               "args": program.args, "then": program.after,
               "then_by_the_other_library": program.crossed, "note": program.note,
               "synthetic_data_env": program.env,
               "ran_unchanged_torch": torch_run["ran"],
               "ran_unchanged_deltagrad": dg_run["ran"],
               "comparison": "plain runs: each library initialises and samples with its own "
                             "generator; same_weights: the twin's replayed weights, batches "
                             "and draws",
               **compare(torch_run, dg_run, program.higher_is_better),
               "wall_s_torch": torch_run["wall_s"], "wall_s_deltagrad": dg_run["wall_s"],
               "torch": torch_run, "deltagrad": dg_run}
        print(f"{program.name:<34} torch {'ran' if torch_run['ran'] else 'FAILED':>6} "
              f"{torch_run['wall_s']:6.1f} s   deltagrad "
              f"{'ran' if dg_run['ran'] else 'FAILED':>6} {dg_run['wall_s']:6.1f} s   "
              f"first-loss diff {row.get('first_loss_relative_difference', float('nan')):.3f}"
              f"  both improved {row.get('both_improved')}", flush=True)
        for name, r in (("torch", torch_run), ("deltagrad", dg_run)):
            if not r["ran"]:
                print(f"    {name}: {r['error'].splitlines()[-1] if r['error'] else ''}")
        if program.loss is None and torch_run["ran"] and dg_run["ran"]:
            row["same_output"] = torch_run["stdout"] == dg_run["stdout"]
            print(f"    printed output {'identical' if row['same_output'] else 'DIFFERS'} "
                  f"({len(torch_run['stdout'].splitlines())} lines)")
        if program.twin_skip:
            row["same_weights"] = {"compared": False, "not_run": program.twin_skip}
            print(f"    same weights: not run ({program.twin_skip})")
        elif args.twin_steps and program.loss is not None:
            row["same_weights"] = run_twin(program, checkout, args.twin_steps, args.timeout)
            twin = row["same_weights"]
            print(f"    same weights, batches and draws: " + (
                f"{twin['steps_compared']} steps, largest relative loss difference "
                f"{twin['max_relative_difference']:.1e}" if twin["compared"]
                else "FAILED: " + twin["error"].strip().splitlines()[-1]), flush=True)
        rows.append(row)
    result = {**provenance(),
              "checkouts": {k: {"path": v, "commit": checkout_commit(v)}
                            for k, v in checkouts.items() if v},
              "programs": rows, "not_run": NOT_RUN,
              "note": "programs run unchanged; datasets synthetic (torchvision stand-in, "
                      "generated corpora); one thread; wall times include interpreter start "
                      "and imports"}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
