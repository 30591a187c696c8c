"""``nn.SyncBatchNorm``: batch normalisation whose statistics span every rank's batch.

With the ranks' batches x⁽ʳ⁾ (N_r examples each), training uses the statistics of the
combined batch, μ = Σ_r Σ x⁽ʳ⁾ / Σ_r N_r and σ² = Σ_r Σ (x⁽ʳ⁾ − μ)² / Σ_r N_r, computed with
the differentiable all-reduce, so data-parallel training with batch norm takes the same steps
as one process on the combined batch. Outside a process group (or with one rank) it is plain
batch norm; in evaluation it uses the running statistics like every batch norm.
"""
from __future__ import annotations

from .. import autograd
from ..nn.normalization import _BatchNorm
from . import process_group as pg
from .nn.functional import all_reduce


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) input with statistics over all ranks (``torch.nn.SyncBatchNorm``)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype)

    def _check_input_dim(self, input):
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (N, C, *), got "
                             f"{input.ndim}D input of shape {tuple(input.shape)}")

    def forward(self, input):
        if not (self.training and pg.is_initialized() and pg.get_world_size() > 1):
            return super().forward(input)
        self._check_input_dim(input)
        c = input.shape[1]
        if c != self.num_features:
            raise ValueError(f"SyncBatchNorm({self.num_features}): expected input with "
                             f"{self.num_features} channels in dim 1, got {tuple(input.shape)}")
        axes = (0,) + tuple(range(2, input.ndim))
        shape = (1, c) + (1,) * (input.ndim - 2)
        local = input.sum(axes)
        n = float(pg._group("SyncBatchNorm").comm.allreduce(input.numel() // c))
        if n <= 1:
            raise ValueError("SyncBatchNorm: expected more than 1 value per channel over all "
                             "ranks when training")
        mean = all_reduce(local) / n
        centred = input - mean.reshape(shape)
        var = all_reduce((centred * centred).sum(axes)) / n
        out = centred / (var.reshape(shape) + self.eps).sqrt()
        if self.weight is not None:
            out = out * self.weight.reshape(shape)
        if self.bias is not None:
            out = out + self.bias.reshape(shape)
        if self.track_running_stats and self.running_mean is not None:
            self.num_batches_tracked.add_(1)
            m = (1.0 / float(self.num_batches_tracked.item()) if self.momentum is None
                 else self.momentum)
            with autograd.no_grad():
                self.running_mean.mul_(1 - m).add_(mean.detach() * m)
                self.running_var.mul_(1 - m).add_(var.detach() * (m * n / (n - 1)))
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Replace every BatchNorm*d in ``module`` by a SyncBatchNorm with the same parameters
        and running statistics (returns the converted module)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats)
            if module.affine:
                with autograd.no_grad():
                    out.weight = module.weight
                    out.bias = module.bias
            if module.track_running_stats:
                out.running_mean = module.running_mean
                out.running_var = module.running_var
                out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in list(module.named_children()):
            setattr(out, name, cls.convert_sync_batchnorm(child, process_group))
        return out
