"""``dg.utils.tensorboard.SummaryWriter``: TensorBoard event files (``torch.utils.tensorboard``).

The files are written by the ``tensorboardX`` package (``pip install tensorboardX``), which
writes the same event format as PyTorch's writer; deltagrad tensors are handed over as NumPy
arrays. Without the package, creating a writer raises ImportError saying what to install.
``add_graph`` traces a model with TorchScript in both libraries and is not supported.
"""
from __future__ import annotations

import functools

__all__ = ["SummaryWriter"]


def _numpy(value):
    """Tensors (also inside lists, tuples and dicts) as NumPy arrays."""
    from ..tensor import Tensor
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_numpy(v) for v in value)
    return value


class SummaryWriter:
    """Writes scalars, histograms, images, text, embeddings, hparams ... for TensorBoard;
    the same arguments and methods as ``torch.utils.tensorboard.SummaryWriter``."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix=""):
        try:
            import tensorboardX
        except ImportError:
            raise ImportError("SummaryWriter needs the tensorboardX package to write "
                              "TensorBoard event files: pip install tensorboardX") from None
        self._writer = tensorboardX.SummaryWriter(
            logdir=log_dir, comment=comment, purge_step=purge_step, max_queue=max_queue,
            flush_secs=flush_secs, filename_suffix=filename_suffix)

    @property
    def log_dir(self):
        return self._writer.logdir

    def get_logdir(self):
        return self._writer.logdir

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        raise NotImplementedError("SummaryWriter.add_graph is not supported by deltagrad (it "
                                  "traces the model with TorchScript); export the model with "
                                  "dg.onnx.export and open it in Netron instead")

    def __getattr__(self, name):
        method = getattr(self._writer, name)
        if not callable(method) or not name.startswith("add_"):
            return method

        @functools.wraps(method)
        def call(*args, **kwargs):
            return method(*_numpy(args), **_numpy(kwargs))
        return call

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
