"""The recurrent experiments end to end, scored on held-out data; writes
results/train_recurrent.json (the same code as ``train_transformers.py``).

- seq2seq-reverse: exact-match share of the held-out 8-digit strings the encoder–decoder LSTM
  reverses by greedy decoding (target >= 95%).
- seq-classifier: Fashion-MNIST test accuracy of the LSTM reading images row by row.
- char-gru, char-rnn: validation loss (nats/char) per epoch on Tiny Shakespeare, next to
  char-lstm's in results/char_lstm.json.

    python benchmarks/train_recurrent.py [--experiments ...] [--epochs char-gru=5 ...]
        [--threads 1]
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.train_transformers import main  # noqa: E402

if __name__ == "__main__":
    main(default_experiments=("seq2seq-reverse", "seq-classifier", "char-gru", "char-rnn"),
         default_out=os.path.join(HERE, "results", "train_recurrent.json"))
