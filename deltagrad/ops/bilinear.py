"""``F.bilinear``: y_k = x₁ᵀ A_k x₂ + b_k, one bilinear form per output feature k."""
from __future__ import annotations

from ..tensor import Tensor
from .linalg import matmul

__all__ = ["bilinear"]


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None):
    """y_k = Σ_ij x₁_i A_kij x₂_j + b_k for x₁ (*, in1), x₂ (*, in2), A (out, in1, in2).

    Computed as one matrix product, x₁ · A reshaped to (in1, out·in2), followed by a
    product with x₂ summed over j; gradients follow from the composed operations.
    """
    op = "bilinear"
    if weight.ndim != 3:
        raise RuntimeError(f"{op}: weight must be 3-D (out_features, in1_features, "
                           f"in2_features), got shape {tuple(weight.shape)}")
    out_f, in1, in2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != in1 or input2.ndim == 0 \
            or input2.shape[-1] != in2:
        raise RuntimeError(f"{op}: expected input1 of shape (*, {in1}) and input2 of shape "
                           f"(*, {in2}) for weight of shape {tuple(weight.shape)}, got "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"{op}: input batch dimensions do not match: "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if bias is not None and tuple(bias.shape) != (out_f,):
        raise RuntimeError(f"{op}: bias has shape {tuple(bias.shape)}, expected ({out_f},)")
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    t = matmul(x1, weight.permute(1, 0, 2).reshape(in1, out_f * in2))
    y = (t.reshape(-1, out_f, in2) * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (out_f,))
