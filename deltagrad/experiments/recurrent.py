"""Experiments of lecture 8 (recurrent networks): character language models on Tiny
Shakespeare, a many-to-one classifier reading Fashion-MNIST images row by row, a seq2seq
LSTM reversing digit strings, and gradient norms through time (vanishing/exploding
gradients and clipping).

``deltagrad train char-lstm`` trains on non-overlapping 100-character chunks (90% of the
text, of which 10% of the chunks are held out for validation; the last 10% of the text is
the test split) and reports nats/char and perplexity;
``deltagrad sample RUN --length 500 --temperature 0.8`` writes text with the trained model.
:func:`gradient_norms_per_step` and :func:`clipping_demo` compute the numbers behind the
``rnn-gradients`` experiment's figure (``deltagrad report``, or :func:`gradient_figure`).
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np

from .. import backend, nn
from ..models.recurrent import CharRNN, Seq2Seq, SequenceClassifier
from ..train import lm_task  # (importing it registers the "language-model" task)
from .data import DataBundle, DatasetUnavailable, image_classification
from .registry import experiment

__all__ = ["char_data", "reverse_digits", "seq2seq_exact_match", "train_tbptt",
           "gradient_norms_per_step", "clipping_demo", "gradient_figure", "SEQ_LEN"]

SEQ_LEN = 100


# ----------------------------------------------------------------------------- data
def char_data(name: str = "tinyshakespeare", seq_len: int = SEQ_LEN) -> DataBundle:
    """Tiny Shakespeare (``name`` "tinyshakespeare", the copy shipped with the package) or any
    UTF-8 text file (``name`` its path: ``deltagrad train char-lstm --data FILE``) as (N, L)
    chunks x and their next characters y; the first 90% of the text is the training split,
    the last 10% the test split. The validation split that chooses best.npz is carved from
    the training chunks by ``deltagrad train`` (``--val-fraction``, 0.1 by default), never
    from the test text. ``classes`` holds the vocabulary (index → character)."""
    from ..datasets.text import CharDataset, TinyShakespeare
    try:
        if name == "tinyshakespeare":
            tr = TinyShakespeare(seq_len=seq_len, split="train")
        else:
            tr = CharDataset(name, seq_len=seq_len, split="train")
    except (FileNotFoundError, ValueError) as e:
        given = "" if name == "tinyshakespeare" else (
            " (the text file given with --data: training, evaluate and report need it; "
            "sample and summary of a run need only its folder)")
        raise DatasetUnavailable(f"{e}{given}") from None
    va = CharDataset(tr.path, seq_len=seq_len, split="val", vocab=tr.vocab)
    if len(tr) == 0 or len(va) == 0:
        need = int(math.ceil((seq_len + 1) / 0.1))
        raise DatasetUnavailable(
            f"{tr.path} has {len(tr.text) + len(va.text):,} characters: too short for "
            f"chunks of {seq_len} with a 90%/10% train/test split; it needs at least "
            f"{need:,}")
    xtr, ytr = tr.chunks()
    xte, yte = va.chunks()  # the held-out tail of the text: the test split
    return DataBundle("tinyshakespeare" if name == "tinyshakespeare" else tr.path, xtr, ytr,
                      xte, yte, classes=tuple(tr.vocab.itos))


def reverse_digits(name: str = "reverse-digits", length: int = 8, n_train: int = 20000,
                   n_test: int = 2000, seed: int = 0) -> DataBundle:
    """Synthetic seq2seq task: a random digit string s (``length`` digits) → its reverse.
    Tokens 0–9 are digits, 10 is the start symbol. x = [s ‖ bos, r_1 … r_{L−1}] (the
    decoder's teacher-forced input beside the source), y = r = reversed(s)."""
    rng = np.random.default_rng(seed)

    def make(n):
        src = rng.integers(0, 10, (n, length))
        tgt = src[:, ::-1].copy()
        tgt_in = np.concatenate([np.full((n, 1), 10), tgt[:, :-1]], 1)
        return np.concatenate([src, tgt_in], 1).astype(np.int64), tgt.astype(np.int64)

    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    return DataBundle(name, xtr, ytr, xte, yte, classes=tuple("0123456789") + ("<bos>",))


def seq2seq_exact_match(model: Seq2Seq, data: DataBundle) -> float:
    """Share of test strings decoded (greedily, no teacher forcing) exactly right."""
    L = data.y_test.shape[1]
    pred = model.generate(data.x_test[:, :model.src_len], L)
    return float((pred == data.y_test).all(1).mean())


# ----------------------------------------------------------------------------- experiments
def _char_lm(cell, hidden, data):
    return CharRNN(len(data.classes), embedding_dim=64, hidden_size=hidden, cell=cell)


_CHAR = dict(data=char_data, task="language-model", datasets=("tinyshakespeare",),
             dataset="tinyshakespeare", text_files=True, optimizer="adam", batch_size=64)


@experiment("char-lstm",
            summary="character LSTM (embedding 64, 1×512 LSTM) on Tiny Shakespeare",
            shows="an LSTM language model learns spelling, names and verse layout: validation "
                  "loss <= 1.60 nats/char; deltagrad sample RUN writes Shakespeare-shaped text",
            lr=2e-3, epochs=20, **_CHAR)
def char_lstm(data):
    return _char_lm("lstm", 512, data)


@experiment("char-gru",
            summary="character GRU (embedding 64, 1×512 GRU) on Tiny Shakespeare",
            shows="the GRU's two gates reach about the LSTM's loss with 3/4 of its weights",
            lr=2e-3, epochs=20, **_CHAR)
def char_gru(data):
    return _char_lm("gru", 512, data)


@experiment("char-rnn",
            summary="character Elman RNN (embedding 64, 1×512 tanh RNN) on Tiny Shakespeare",
            shows="a vanilla RNN models characters too, but plateaus above the gated cells "
                  "(vanishing gradients limit its memory)",
            lr=1e-3, epochs=20, **_CHAR)
def char_rnn(data):
    return _char_lm("rnn", 512, data)


@experiment("seq-classifier",
            summary="LSTM (128) reading Fashion-MNIST images row by row (28 steps of 28 pixels)",
            shows="many-to-one: the last hidden state classifies the sequence (~88% test "
                  "accuracy on Fashion-MNIST in 5 epochs)",
            data=partial(image_classification, flatten=False), task="classification",
            optimizer="adam", lr=2e-3, epochs=5, batch_size=128)
def seq_classifier(data):
    return SequenceClassifier(data.input_shape[-1], 128, data.num_classes, cell="lstm")


@experiment("seq2seq-reverse",
            summary="encoder–decoder LSTM (128) reversing 8-digit strings, teacher forcing",
            shows="the encoder's final (h, c) carries the whole string: >= 95% of held-out "
                  "strings are reversed exactly (greedy decoding); "
                  "dg.experiments.recurrent.seq2seq_exact_match(model, data) measures it",
            data=reverse_digits, task="language-model", datasets=("reverse-digits",),
            dataset="reverse-digits", optimizer="adam", lr=3e-3, epochs=8, batch_size=64)
def seq2seq_reverse(data):
    return Seq2Seq(len(data.classes), src_len=data.y_train.shape[1], embedding_dim=16,
                   hidden_size=128, bos=10)


# ----------------------------------------------------------------------------- truncated BPTT
def train_tbptt(model: CharRNN, tokens, optimizer, seq_len: int = 100, batch_size: int = 64,
                epochs: int = 1, max_norm: float | None = 5.0) -> list:
    """Truncated backpropagation through time over a long token stream.

    The stream is cut into ``batch_size`` parallel rows (:func:`dg.nn.bptt_batches`); each
    chunk of ``seq_len`` steps starts from the previous chunk's final state, detached
    (:func:`dg.nn.detach_state`), so the state carries the context forward while gradients
    flow back through one chunk only (k₁ = k₂ = ``seq_len``). Gradients are clipped to
    ``max_norm`` (None: no clipping). Returns the loss of every chunk."""
    from ..nn.rnn import bptt_batches, detach_state
    from ..nn.utils import clip_grad_norm_
    task = lm_task.LanguageModeling()
    losses = []
    model.train()
    for _ in range(epochs):
        state = None
        for x, y in bptt_batches(tokens, batch_size, seq_len):
            logits, state = model(x, state, return_state=True)
            loss = task.loss(logits, y)
            optimizer.zero_grad()
            loss.backward()
            if max_norm is not None:
                clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            state = detach_state(state)  # truncate: the next chunk backpropagates to here
            losses.append(float(loss.item()))
    return losses


# ----------------------------------------------------------------------------- gradients
def first_symbol_task(n: int = 512, length: int = 40, seed: int = 0) -> DataBundle:
    """Long-range memory: the label is the sign of the first input of a noise sequence."""
    rng = np.random.default_rng(seed)

    def make(k):
        x = rng.standard_normal((k, length, 1)).astype(np.float32)
        return x, (x[:, 0, 0] > 0).astype(np.int64)

    xtr, ytr = make(n)
    xte, yte = make(n)
    return DataBundle("first-symbol", xtr, ytr, xte, yte, classes=("negative", "positive"))


def gradient_norms_per_step(model, x, y, loss_fn=None) -> np.ndarray:
    """‖∂L/∂x_t‖ for every time step t of input x (B, T, I) (batch_first model): how much
    the loss at the end still depends on step t. Geometric decay towards t = 1 is the
    vanishing gradient; growth is the exploding one (notes 000 §9.5)."""
    from ..tensor import from_numpy
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    xt = from_numpy(np.asarray(x, np.float32)).requires_grad_()
    loss = loss_fn(model(xt), from_numpy(np.asarray(y)))
    loss.backward()
    g = xt.grad.numpy()
    return np.sqrt((g ** 2).sum(axis=(0, 2)))


def _scaled_rnn(hidden: int, scale: float, cell: str = "rnn", seed: int = 0,
                nonlinearity: str = "tanh"):
    """A one-input many-to-one classifier; for the plain RNN, W_hh ~ N(0, scale²/H), so its
    spectral radius is about ``scale``."""
    backend.manual_seed(seed)
    model = SequenceClassifier(1, hidden, 2, cell=cell)
    if cell == "rnn":
        if nonlinearity != "tanh":
            model.rnn = nn.RNN(1, hidden, nonlinearity=nonlinearity, batch_first=True)
        rng = np.random.default_rng(seed)
        w = rng.standard_normal((hidden, hidden)) / np.sqrt(hidden) * scale
        model.rnn.weight_hh_l0._data[...] = w
    return model


def clipping_demo(steps: int = 40, hidden: int = 32, scale: float = 3.0, lr: float = 0.5,
                  max_norm: float = 1.0, seed: int = 0) -> dict:
    """Train a tanh RNN with large recurrent weights (‖W_hh‖ ≈ ``scale``) by SGD, with and
    without clipping the gradient norm to ``max_norm``; returns the gradient norm and the
    loss per step of both runs. Without clipping the norm spikes (exploding gradients) and
    the loss jumps; clipping bounds every update (g ← g · max_norm / ‖g‖)."""
    from .. import optim
    from ..nn.utils import clip_grad_norm_
    from ..tensor import from_numpy
    data = first_symbol_task(256, 40, seed)
    out = {}
    for clip in (False, True):
        model = _scaled_rnn(hidden, scale, seed=seed)
        opt = optim.SGD(model.parameters(), lr=lr)
        loss_fn = nn.CrossEntropyLoss()
        x, y = from_numpy(data.x_train), from_numpy(data.y_train)
        norms, losses = [], []
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            norm = float(clip_grad_norm_(model.parameters(), max_norm if clip else float("inf")))
            opt.step()
            norms.append(norm)
            losses.append(float(loss.item()))
        out["clipped" if clip else "unclipped"] = {"grad_norm": norms, "loss": losses}
    return out


def gradient_figure(length: int = 60, hidden: int = 32, seed: int = 0) -> tuple:
    """(png bytes, numbers): ‖∂L/∂x_t‖ per time step for a tanh RNN with small (0.5),
    unit (1.0) and large (3.0) recurrent
    weights, a ReLU RNN and an LSTM, at initialisation, on the first-symbol task; plus the
    clipping demo."""
    from ..report.plots import _png, _pyplot
    data = first_symbol_task(64, length, seed)
    curves = {}
    for label, cell, scale in (("RNN, ‖W‖≈0.5", "rnn", 0.5), ("RNN, ‖W‖≈1", "rnn", 1.0),
                               ("RNN, ‖W‖≈3", "rnn", 3.0), ("LSTM (default init)", "lstm", 1)):
        model = _scaled_rnn(hidden, scale, cell, seed)
        curves[label] = gradient_norms_per_step(model, data.x_train, data.y_train)
    relu = _scaled_rnn(hidden, 1.5, seed=seed, nonlinearity="relu")
    curves["ReLU RNN, ‖W‖≈1.5"] = gradient_norms_per_step(relu, data.x_train, data.y_train)
    demo = clipping_demo(seed=seed)
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for label, c in curves.items():
        a1.semilogy(np.arange(1, length + 1), np.maximum(c, 1e-30), label=label)
    a1.set_xlabel("time step t (the loss is at t = T)")
    a1.set_ylabel("‖∂L/∂x_t‖")
    a1.set_title("gradient norm per time step")
    a1.legend(fontsize=8)
    for k, v in demo.items():
        a2.plot(v["loss"], label=f"{k} (first ‖∇L‖ = {v['grad_norm'][0]:.3g})")
    a2.set_xlabel("SGD step")
    a2.set_ylabel("training loss")
    a2.set_title("exploding gradient: one SGD step with and without clipping to norm 1")
    a2.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig), {"per_step": {k: v.tolist() for k, v in curves.items()},
                       "clipping": demo}


def _gradient_figures(experiment_name, model, data, history) -> list:
    png, _ = gradient_figure()
    return [("gradient_norms", png, "‖∂L/∂x_t‖ per time step at initialisation (vanishing "
             "for small recurrent weights, exploding for large ones) and the training loss of "
             "SGD with and without gradient clipping (the unclipped first step throws the "
             "loss up; the clipped run stays near chance level and keeps learning)")]


@experiment("rnn-gradients",
            summary="tanh RNN (32) remembering the sign of the first of 40 noise inputs",
            shows="backpropagation through time multiplies by W_hh at every step: "
                  "‖∂L/∂x_t‖ vanishes or explodes geometrically with t; clipping bounds the "
                  "steps; deltagrad report RUN draws the gradient norm per time step",
            data=lambda name="first-symbol": first_symbol_task(2048, 40),
            task="classification", datasets=("first-symbol",), dataset="first-symbol",
            optimizer="adam", lr=1e-3, epochs=10, batch_size=64)
def rnn_gradients(data):
    return SequenceClassifier(1, 32, 2, cell="rnn")


rnn_gradients.figures = _gradient_figures
