"""The core op suite runs once per BLAS (``tests/blas_library.py``)."""
from tests.blas_library import blas_library  # noqa: F401
