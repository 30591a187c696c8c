"""Testing aids that ship with deltagrad: ``assert_close`` (``torch.testing``'s), and a strict
pretend GPU for the device code path."""
from .comparison import assert_close  # noqa: F401
from .strict_device import StrictArray, use_strict_device  # noqa: F401
