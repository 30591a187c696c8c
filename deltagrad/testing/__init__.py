"""Testing aids that ship with deltagrad (a strict pretend GPU for the device code path)."""
from .strict_device import StrictArray, use_strict_device  # noqa: F401
