"""``kernel_backend``: runs a test once per available kernel backend (NumPy, and Numba when
installed), so the recurrent layers are checked through both cell implementations."""
import pytest

from deltagrad import kernels
from tests.blas_library import blas_library  # noqa: F401 -- every test once per BLAS

KERNEL_BACKENDS = ["numpy"] + (["numba"] if kernels.numba_available() else [])


@pytest.fixture(params=KERNEL_BACKENDS)
def kernel_backend(request):
    with kernels.use_backend(request.param):
        yield request.param
