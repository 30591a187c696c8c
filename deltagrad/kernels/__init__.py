"""Which implementation runs the hot element-wise loops: ``numpy`` or ``numba``.

The NumPy code (e.g. the recurrent cells of ``ops/recurrent.py``) is the readable reference.
``numba_cells.py`` holds the same cells as compiled loops that fuse one time step's
element-wise work into one pass (an optional extra: ``pip install deltagrad[fast]``); with
MKL running the products (``blas.py``) the whole time loop is one compiled call
(``numba_sequence.py``), its per-step products, on a processor with AVX-512, a
register-blocked kernel of its own (``numba_gemm.py``). Other compiled kernels: the Adam
step (``numba_optim.py``), the binary cross-entropy of logits (``numba_bce.py``), the
embedding gradient's scatter-add
(``numba_rows.py``), and, split over the threads with Numba's ``prange``
(``numba_parallel.py`` says when that pays), a + b, a − b and a · b of two arrays of one
shape (``numba_binary.py``, at more than one thread), layer norm (``numba_norm.py``), GELU
(``numba_gelu.py``), attention's softmax (``numba_attention.py``) or, with MKL, a packed
self-attention one (batch, head) pair at a time (``numba_heads.py``), the softmax
cross-entropy (``numba_cross_entropy.py``), batch norm (``numba_batch_norm.py``), ReLU's
and LeakyReLU's backward, 2×2 max pooling (``numba_pool.py``) and a 2-D convolution's
im2col/col2im (``numba_im2col.py``, ``numba_col2im.py``) and the layout moves around its
products, with the bias add and the bias gradient's sum (``numba_conv_rows.py``), or, for a
single-channel input, the whole convolution and its weight gradient computed directly
(``numba_conv_direct.py``).

The choice comes from the environment variable ``DELTAGRAD_KERNELS=numpy|numba``; unset, it
is ``numba`` when Numba can be imported and ``numpy`` otherwise. ``set_backend`` and
``use_backend`` change it inside a program (``dg.backends.kernels`` is this module).
Numba itself is imported only when the backend is first needed (a recurrent layer's first
forward), so importing deltagrad stays fast; compiled code is cached on disk (Numba's
``cache=True``, next to the module or under ``NUMBA_CACHE_DIR``), keyed by all of this
package's sources (``numba_cache.py``: a compiled caller carries its callees inside it).
"""
from __future__ import annotations

import contextlib
import os

__all__ = ["BACKENDS", "numba_available", "get_backend", "set_backend", "use_backend"]

BACKENDS = ("numpy", "numba")
ENV_VAR = "DELTAGRAD_KERNELS"

_chosen = [None]  # set_backend's choice; None: read the environment
_numba_imports = []  # [whether `import numba` worked], once tried


def numba_available() -> bool:
    """True when ``numba`` imports (tried once, on first use; an install that fails to import,
    e.g. built for another NumPy, counts as absent)."""
    if not _numba_imports:
        try:
            import numba  # noqa: F401
            _numba_imports.append(True)
        except Exception:  # ImportError, or a broken install's own error
            _numba_imports.append(False)
    return _numba_imports[0]


def _check(name, where):
    if name not in BACKENDS:
        raise ValueError(f"{where}: unknown kernel backend {name!r}; expected one of "
                         f"{BACKENDS}")
    if name == "numba" and not numba_available():
        raise ImportError(f"{where}: the 'numba' kernel backend needs the numba package "
                          "(pip install deltagrad[fast]); use 'numpy' instead")
    return name


def get_backend() -> str:
    """'numpy' or 'numba': ``set_backend``'s choice, else ``DELTAGRAD_KERNELS``, else numba
    when it is importable."""
    if _chosen[0] is not None:
        return _chosen[0]
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env:
        return _check(env, f"{ENV_VAR}={os.environ[ENV_VAR]!r}")
    return "numba" if numba_available() else "numpy"


def backend_name() -> str:
    """The backend ``get_backend`` gives, named without importing Numba when it is not loaded
    yet (loading it is what a short run avoids, ``optim/adam.py``): then an installed Numba
    counts as importable. For a run's record of the libraries it trained with."""
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if _chosen[0] is not None or _numba_imports or env in BACKENDS:
        return _chosen[0] or (env if env in BACKENDS else get_backend())
    from importlib.util import find_spec
    return "numba" if find_spec("numba") is not None else "numpy"


def set_backend(name) -> None:
    """Use ``name`` ('numpy' or 'numba') from now on; ``None`` goes back to the default."""
    _chosen[0] = None if name is None else _check(name, "set_backend")


def use_backend(name):
    """``with use_backend('numpy'): ...`` runs the block with that backend."""
    return while_chosen(_chosen, set_backend, name)


@contextlib.contextmanager
def while_chosen(chosen, choose, name):
    """A block run with ``choose(name)`` in force; ``chosen[0]``, the setting ``choose``
    writes, is put back afterwards (``use_backend`` here, ``blas.use_blas``)."""
    before = chosen[0]
    choose(name)
    try:
        yield
    finally:
        chosen[0] = before


def openmp_wait_policy() -> None:
    """How GNU OpenMP's pool threads wait between parallel regions, set once before the pool
    starts (libgomp reads it when it loads), unless the user set OMP_WAIT_POLICY or
    GOMP_SPINCOUNT. With NumPy's OpenBLAS running the products, whose own threads spin after
    each one, the pool threads sleep (``OMP_WAIT_POLICY=PASSIVE``) so as not to take a core
    from OpenBLAS's (``numba_parallel.py`` has the measurements). With MKL running them on
    the pool itself (``blas.py``) libgomp's default stands, as in PyTorch: a thread spins
    300,000 times (a few ms) before it sleeps, so the next product or kernel finds it awake;
    spinning longer (30M) slowed a PyTorch process taking turns with deltagrad's 2× (LSTM
    step 19 -> 41 ms), measured by hand."""
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return
    from .blas import get_blas
    if get_blas() != "mkl":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
