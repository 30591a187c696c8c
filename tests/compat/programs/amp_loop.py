"""The surroundings of a modern training script: torch.accelerator device choice, cudnn and
TF32 switches, CUDA seeding, autocast + GradScaler (unscale_ before clipping), TensorBoard
logging, checkpointing the scaler's state. Runs on a CPU-only machine like on a GPU."""
import argparse

import numpy as np
import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn
import torch.nn.functional as F

from _common import numpy_init, write_result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--amp", action="store_true", help="mixed precision (GradScaler enabled)")
    p.add_argument("--logdir", help="TensorBoard folder")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--out")
    args = p.parse_args()
    device = (torch.accelerator.current_accelerator() if torch.accelerator.is_available()
              else torch.device("cpu"))
    cudnn.benchmark = True
    cudnn.deterministic = False
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(0)
    torch.cuda.manual_seed_all(0)
    model = numpy_init(nn.Sequential(nn.Linear(6, 32), nn.GELU(), nn.LayerNorm(32),
                                     nn.Linear(32, 4)), seed=11).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    scaler = torch.amp.GradScaler(device.type, init_scale=2.0 ** 10, growth_interval=3,
                                  enabled=args.amp)
    writer = None
    if args.logdir:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(args.logdir)
    rng = np.random.default_rng(12)
    losses, scales = [], []
    for step in range(args.steps):
        x = torch.from_numpy(rng.standard_normal((16, 6)).astype(np.float32)).to(device)
        y = torch.from_numpy(rng.integers(0, 4, 16)).to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16,
                            enabled=device.type == "cuda" and args.amp):
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
        scales.append(scaler.get_scale())
        if writer is not None:
            writer.add_scalar("train/loss", loss.item(), step)
    if writer is not None:
        writer.close()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict()}, "amp_checkpoint.pt")
    state = torch.load("amp_checkpoint.pt", weights_only=True)
    write_result({"losses": losses, "scales": scales, "scaler_keys": sorted(state["scaler"]),
                  "cuda": torch.cuda.is_available()})


if __name__ == "__main__":
    main()
