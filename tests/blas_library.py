"""``blas_library``: an autouse fixture that runs every test of a folder once per available
BLAS (NumPy's OpenBLAS, and MKL when the ``mkl`` extra is installed), so the op and layer
suites check both product paths (``deltagrad/kernels/blas.py``). A folder turns it on with
``from tests.blas_library import blas_library`` in its conftest.py."""
import pytest

from deltagrad.kernels import blas

CHOICES = ["numpy"] + (["mkl"] if blas.mkl_available() else [])


@pytest.fixture(autouse=True, params=CHOICES, ids=[f"blas={c}" for c in CHOICES])
def blas_library(request):
    with blas.use_blas(request.param):
        yield request.param
