"""Character-level text corpora: any text file as a stream of character indices.

``CharDataset(path)`` reads a UTF-8 file, builds the vocabulary (the sorted set of its
characters), encodes the text as int64 indices and serves next-character training pairs:
sample i is (x, y) = (text[s : s + L], text[s + 1 : s + L + 1]) with s = i·L (non-overlapping
chunks of ``seq_len`` L). ``split`` takes a contiguous part of the text (the first 90% for
``"train"``, the last 10% for ``"val"`` by default), so no validation character is seen in
training. ``TinyShakespeare`` is the same class with the standard file (Karpathy's
char-rnn corpus, 1,115,394 characters, 65 distinct, public domain), which ships with the
package (``deltagrad/datasets/data/tinyshakespeare.txt``); ``root`` or ``$DELTAGRAD_DATA``
may point at another copy.
"""
from __future__ import annotations

import os

import numpy as np

from ..tensor import from_numpy
from ..utils.data.dataset import Dataset

__all__ = ["CharDataset", "TinyShakespeare", "Vocabulary", "TINY_SHAKESPEARE_URL",
           "BUNDLED_TINY_SHAKESPEARE", "find_tiny_shakespeare", "read_text_file"]

TINY_SHAKESPEARE_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
                        "tinyshakespeare/input.txt")
BUNDLED_TINY_SHAKESPEARE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                                       "tinyshakespeare.txt")


class Vocabulary:
    """Characters ↔ indices: ``itos`` the sorted characters, ``stoi`` the inverse map."""

    def __init__(self, chars):
        self.itos = sorted(set(chars))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, text: str) -> np.ndarray:
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise ValueError(f"Vocabulary.encode: character {e.args[0]!r} is not in the "
                             f"vocabulary of {len(self)} characters") from None

    def decode(self, indices) -> str:
        return "".join(self.itos[int(i)] for i in np.asarray(indices).reshape(-1))

    def state_dict(self) -> dict:
        return {"itos": "".join(self.itos)}


def _encode_fast(text: str, vocab: Vocabulary) -> np.ndarray:
    """Encode a long text through a code-point lookup table (one pass in NumPy)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    top = max(int(codes.max()) if codes.size else 0, max(map(ord, vocab.itos), default=0))
    table = np.full(top + 1, -1, np.int64)  # (a split may lack the vocabulary's last char)
    for i, c in enumerate(vocab.itos):
        table[ord(c)] = i
    return table[codes]


def find_tiny_shakespeare(root: str | None = None) -> str | None:
    """The first existing copy of tinyshakespeare.txt: ``root`` (a file or folder),
    ``$DELTAGRAD_DATA``, the copy that ships with the package."""
    candidates = []
    if root:
        candidates += [root, os.path.join(root, "tinyshakespeare.txt")]
    env = os.environ.get("DELTAGRAD_DATA")
    if env:
        candidates.append(os.path.join(env, "tinyshakespeare.txt"))
    candidates.append(BUNDLED_TINY_SHAKESPEARE)
    for c in candidates:
        if os.path.isfile(c):
            return c
    return None


def read_text_file(path: str, what: str = "CharDataset") -> str:
    """The UTF-8 text of ``path``; a missing, empty or binary file raises an error that names
    ``what`` and the file (FileNotFoundError for a missing one, ValueError otherwise)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no text file at {path!r}")
    if not os.path.isfile(path):
        raise ValueError(f"{what}: {path!r} is not a file (expected a UTF-8 text file)")
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.strip():
        raise ValueError(f"{what}: {path!r} is empty (expected a UTF-8 text file)")
    if b"\0" in raw:
        raise ValueError(f"{what}: {path!r} is a binary file (it holds NUL bytes); expected "
                         "a UTF-8 text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{what}: {path!r} is not UTF-8 text (byte {e.start}: "
                         f"{raw[e.start:e.start + 1]!r}); expected a UTF-8 text file") from None


class CharDataset(Dataset):
    """Next-character pairs from a text file (or a string with ``text=``).

    ``vocab`` fixes the vocabulary (pass the training split's to the validation split);
    ``split`` is ``"train"`` (the first ``1 − val_fraction`` of the text), ``"val"`` (the
    rest) or ``"all"``. Attributes: ``data`` (int64 indices of the split), ``vocab``.
    """

    def __init__(self, path: str | None = None, seq_len: int = 100, split: str = "all",
                 val_fraction: float = 0.1, vocab: Vocabulary | None = None,
                 text: str | None = None):
        if text is None:
            if path is None:
                raise ValueError("CharDataset: give path (a UTF-8 text file) or text")
            text = read_text_file(path)
        if split not in ("train", "val", "all"):
            raise ValueError(f"CharDataset: split must be 'train', 'val' or 'all', got {split!r}")
        if not 0 <= val_fraction < 1:
            raise ValueError(f"CharDataset: val_fraction must be in [0, 1), got {val_fraction}")
        if seq_len < 1:
            raise ValueError(f"CharDataset: seq_len must be >= 1, got {seq_len}")
        self.path, self.seq_len, self.split = path, int(seq_len), split
        self.vocab = vocab if vocab is not None else Vocabulary(text)
        cut = int(len(text) * (1 - val_fraction))
        part = {"train": text[:cut], "val": text[cut:], "all": text}[split]
        self.text = part
        self.data = _encode_fast(part, self.vocab)
        if (self.data < 0).any():
            bad = part[int(np.argmax(self.data < 0))]
            raise ValueError(f"CharDataset: character {bad!r} of the {split} split is not in "
                             f"the vocabulary")

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self):
        return max(0, (len(self.data) - 1) // self.seq_len)

    def __getitem__(self, i):
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"CharDataset: index {i} out of range for {n} chunks")
        s = (i % n) * self.seq_len
        x = self.data[s:s + self.seq_len]
        y = self.data[s + 1:s + self.seq_len + 1]
        return from_numpy(x.copy()), from_numpy(y.copy())

    def chunks(self, offset: int = 0) -> tuple:
        """All chunks at once: (x, y) int64 arrays of shape (len, seq_len), starting at
        character ``offset`` (a random offset per epoch varies the chunk boundaries)."""
        a = self.data[offset:]
        n = (len(a) - 1) // self.seq_len
        L = self.seq_len
        return a[:n * L].reshape(n, L), a[1:n * L + 1].reshape(n, L)

    def encode(self, text: str) -> np.ndarray:
        return self.vocab.encode(text)

    def decode(self, indices) -> str:
        return self.vocab.decode(indices)


class TinyShakespeare(CharDataset):
    """Tiny Shakespeare (1,115,394 characters); ``root`` a folder or the file itself."""

    def __init__(self, root: str | None = None, seq_len: int = 100, split: str = "train",
                 val_fraction: float = 0.1, vocab: Vocabulary | None = None,
                 download: bool = False):
        path = find_tiny_shakespeare(root)
        if path is None and download:
            path = self.download(root or os.environ.get("DELTAGRAD_DATA") or "data")
        if path is None:
            raise FileNotFoundError(
                "TinyShakespeare: tinyshakespeare.txt not found (looked in root, "
                f"$DELTAGRAD_DATA and {BUNDLED_TINY_SHAKESPEARE}); reinstall deltagrad, pass "
                f"download=True to fetch {TINY_SHAKESPEARE_URL}, or root= the file")
        super().__init__(path, seq_len, split, val_fraction, vocab)

    @staticmethod
    def download(folder: str) -> str:
        """Fetch the standard file into ``folder`` (only when asked; needs the network)."""
        import urllib.request
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "tinyshakespeare.txt")
        tmp = path + ".part"
        try:
            with urllib.request.urlopen(TINY_SHAKESPEARE_URL, timeout=30) as r, \
                    open(tmp, "wb") as f:
                f.write(r.read())
        except OSError as e:
            raise RuntimeError(f"TinyShakespeare: download from {TINY_SHAKESPEARE_URL} failed "
                               f"({e}); copy the file to {path} by hand") from None
        os.replace(tmp, path)
        return path
