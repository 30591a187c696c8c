"""``dg.linalg``: PyTorch's ``torch.linalg`` names for the matrix functions deltagrad has
(``cholesky``, ``solve_triangular``, ``diagonal``, ``matmul``, ``vector_norm``)."""
from .ops.linalg import cholesky, diagonal, matmul, solve_triangular  # noqa: F401


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """‖x‖_ord over ``dim`` (all elements when None)."""
    return x.norm(ord, dim, keepdim, dtype=dtype) if dtype is not None else \
        x.norm(ord, dim, keepdim)


__all__ = ["cholesky", "solve_triangular", "diagonal", "matmul", "vector_norm"]
