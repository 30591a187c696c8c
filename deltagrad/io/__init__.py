"""Models in and out: ``dg.save``/``dg.load`` (PyTorch's zip layout), safetensors, ONNX export."""
from . import serialization
from .serialization import save, load

__all__ = ["serialization", "save", "load"]
