"""Neural style transfer (Gatys et al. 2016; seed 003, "Deep Art").

With V the (C, H·W) feature maps of a layer, the Gram matrix G = V Vᵀ / (C·H·W) keeps which
features occur together and forgets where: the style. The created image I minimises

    L_total(I) = α L_content(I) + β L_style(I),
    L_content = Σ_{ijk} (p_ijk − x_ijk)²            (features of the content image p, of I x)
    L_style   = Σ_layers Σ_ij (G_ij − A_ij)²        (Gram matrices of the style image G, of I A)

on a feature network trained by deltagrad (no downloaded weights), by L-BFGS or Adam over I.
"""
from __future__ import annotations

from ..nn.module import Module
from ..optim import LBFGS, Adam
from .optimize import eval_mode


def gram_matrix(features):
    """G = V Vᵀ / (C·H·W) per example, V the features as (C, H·W): (N, C, H, W) → (N, C, C)."""
    if features.ndim < 3:
        raise ValueError(f"gram_matrix: expected features (N, C, ...), got shape "
                         f"{tuple(features.shape)}")
    n, c = features.shape[0], features.shape[1]
    v = features.reshape(n, c, -1)
    return v.matmul(v.transpose(1, 2)) / float(v.shape[1] * v.shape[2])


def content_loss(features, target):
    """L_content = Σ (p − x)² between the created image's and the content image's features."""
    d = features - target
    return (d * d).sum()


def style_loss(features, target_gram):
    """Σ_ij (G_ij − A_ij)² between the Gram matrices of the style image and the created one."""
    d = gram_matrix(features) - target_gram
    return (d * d).sum()


class StyleTransfer:
    """``StyleTransfer(net, content_layers, style_layers, alpha, beta).run(content, style)``.

    Layers are given by their names in ``net.named_modules()``; the network stays fixed (eval
    mode, no parameter gradients)."""

    def __init__(self, feature_net, content_layers, style_layers, alpha=1.0, beta=1e3):
        if not isinstance(feature_net, Module):
            raise TypeError(f"StyleTransfer: feature_net must be an nn.Module, got "
                            f"{type(feature_net).__name__}")
        modules = dict(feature_net.named_modules())
        for name in list(content_layers) + list(style_layers):
            if name not in modules:
                raise ValueError(f"StyleTransfer: layer {name!r} is not in the network; its "
                                 f"layers are {[n for n in modules if n]}")
        if alpha < 0 or beta < 0:
            raise ValueError(f"StyleTransfer: alpha and beta must be >= 0, got {alpha}, {beta}")
        self.net, self.modules = feature_net, modules
        self.content_layers, self.style_layers = list(content_layers), list(style_layers)
        self.alpha, self.beta = float(alpha), float(beta)

    def features(self, image):
        """The named layers' outputs for ``image`` (one forward pass)."""
        seen = {}
        hooks = [self.modules[n].register_forward_hook(
            lambda m, i, o, n=n: seen.__setitem__(n, o))
            for n in set(self.content_layers + self.style_layers)]
        try:
            self.net(image)
        finally:
            for h in hooks:
                h.remove()
        return seen

    def losses(self, image, content_targets, style_targets):
        f = self.features(image)
        lc = sum((content_loss(f[n], content_targets[n]) for n in self.content_layers), 0.0)
        ls = sum((style_loss(f[n], style_targets[n]) for n in self.style_layers), 0.0)
        return lc, ls, self.alpha * lc + self.beta * ls

    def run(self, content, style, steps=50, optimizer="lbfgs", lr=None, init=None):
        """Optimise the image (starting from the content image); returns (image, history) with
        history a list of {"content", "style", "total"} per evaluation."""
        if content.shape[1:] != style.shape[1:] and not self.style_layers:
            raise ValueError("StyleTransfer.run: content and style images differ in shape")
        with eval_mode(self.net):
            fc = {n: t.detach() for n, t in self.features(content.detach()).items()}
            fs = {n: gram_matrix(t).detach() for n, t in self.features(style.detach()).items()}
            image = (content if init is None else init).detach().clone().requires_grad_(True)
            history = []

            def closure():
                opt.zero_grad()
                lc, ls, total = self.losses(image, fc, fs)
                total.backward()
                history.append({"content": float(lc.item()) if hasattr(lc, "item") else lc,
                                "style": float(ls.item()) if hasattr(ls, "item") else ls,
                                "total": float(total.item())})
                return total

            if optimizer == "lbfgs":
                opt = LBFGS([image], lr=1 if lr is None else lr, max_iter=steps,
                            line_search_fn="strong_wolfe")
                opt.step(closure)
            elif optimizer == "adam":
                opt = Adam([image], lr=0.02 if lr is None else lr)
                for _ in range(steps):
                    opt.step(closure)
            else:
                raise ValueError(f"StyleTransfer.run: optimizer must be 'lbfgs' or 'adam', got "
                                 f"{optimizer!r}")
            for p in self.net.parameters():
                p.grad = None
        return image.detach(), history
