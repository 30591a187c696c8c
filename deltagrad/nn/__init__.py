"""``dg.nn``: modules, parameters, layers, initialisation and the functional API."""
from . import functional  # noqa: F401
