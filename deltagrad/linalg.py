"""``dg.linalg``: PyTorch's ``torch.linalg`` names for the matrix functions deltagrad has
(``cholesky``, ``solve_triangular``, ``diagonal``, ``matmul``, ``vector_norm``, ``cross``)."""
from .ops.linalg import cholesky, matmul, solve_triangular  # noqa: F401
from .ops.shape import diagonal as _diagonal


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """``torch.linalg.diagonal``: the diagonals of the last two dimensions (a view)."""
    return _diagonal(A, offset, dim1, dim2)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """‖x‖_ord over ``dim`` (all elements when None)."""
    return x.norm(ord, dim, keepdim, dtype=dtype) if dtype is not None else \
        x.norm(ord, dim, keepdim)


def cross(input, other, *, dim=-1):
    """The vector product along ``dim`` (default the last; ``torch.linalg.cross``)."""
    from .ops.products import cross as _cross
    return _cross(input, other, dim=dim)


__all__ = ["cholesky", "solve_triangular", "diagonal", "matmul", "vector_norm", "cross"]
