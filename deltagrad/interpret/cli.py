"""``deltagrad interpret RUN --method M``: look inside a trained image classifier.

Writes RUN/plots/interpret_<method>.png (and, for the attacks, the accuracy-versus-ε numbers
in RUN/interpret.json); ``deltagrad report RUN`` then shows every such figure in a section of
its own.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

from .. import autograd
from ..tensor import as_tensor
from ..train.run import RunError

# a bad argument is a RunError: `deltagrad` reports it as a usage error (exit status 2)
METHODS = ("saliency", "smoothgrad", "guided", "gradcam", "occlusion", "filters", "patches",
           "class-model", "inversion", "dream", "fgsm", "pgd")
EPSILONS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)

HELP = """Look inside a trained image classifier of a run folder and write a figure into
RUN/plots/ (shown by 'deltagrad report RUN'). Methods: saliency, smoothgrad, guided
(guided backpropagation), gradcam, occlusion (maps for one test image); filters (first conv
layer), patches (top test patches of a channel); class-model, inversion, dream (images made
by optimisation); fgsm, pgd (adversarial accuracy against epsilon)."""


def build_parser():
    from ..cli import _Parser
    p = _Parser(prog="deltagrad interpret", description=HELP)
    add_arguments(p)
    return p


def add_arguments(p):
    """The arguments of ``deltagrad interpret`` (shared by the main command's sub-parser)."""
    p.add_argument("run", metavar="RUN", help="a run folder of an image classifier")
    p.add_argument("--method", required=True, choices=METHODS, metavar="METHOD",
                   help=", ".join(METHODS))
    p.add_argument("--index", type=int, default=0, help="test image to explain (default 0)")
    p.add_argument("--target", type=int, default=None,
                   help="class to explain (default: the predicted class)")
    p.add_argument("--layer", default=None, help="layer name from the model's named_modules "
                   "(default: the last conv layer; the first for filters and patches)")
    p.add_argument("--channel", type=int, default=0, help="channel for patches and dream")
    p.add_argument("--samples", type=int, default=1000,
                   help="test images for fgsm/pgd (default 1000)")
    p.add_argument("--weights", choices=("last", "best"), default="best")


def _conv_layers(model):
    return [(n, m) for n, m in model.named_modules()
            if type(m).__name__ in ("Conv1d", "Conv2d", "Conv3d")]


def _pick_layer(model, name, first):
    modules = dict(model.named_modules())
    if name is not None:
        if name not in modules or not name:
            raise RunError(f"layer {name!r} is not in the model; its layers "
                             f"are {', '.join(n for n in modules if n)}")
        return name, modules[name]
    convs = _conv_layers(model)
    if not convs:
        raise RunError("the model has no conv layer; pass --layer NAME")
    return convs[0] if first else convs[-1]


def _row_png(images, titles, suptitle, cmaps=None):
    from ..report.plots import _png, _pyplot
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(images), figsize=(2.4 * len(images), 2.8), squeeze=False)
    for k, (ax, img, title) in enumerate(zip(axes[0], images, titles)):
        ax.imshow(img, cmap=(cmaps[k] if cmaps else "gray"))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(suptitle, fontsize=10)
    return _png(fig)


def _grid_png(images, suptitle, titles=None, cols=8):
    from ..report.plots import _png, _pyplot
    plt = _pyplot()
    rows = (len(images) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.4 * rows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < len(images):
            img = images[k]
            ax.imshow(img if img.ndim == 2 or img.shape[-1] == 3 else img[..., 0], cmap="gray")
            if titles:
                ax.set_title(titles[k], fontsize=7)
    fig.suptitle(suptitle, fontsize=10)
    return _png(fig)


def _curve_png(eps, curves, suptitle):
    from ..report.plots import _png, _pyplot
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, acc in curves.items():
        ax.plot(eps, acc, "o-", label=name)
    ax.set_xlabel("ε (pixel units)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(suptitle, fontsize=10)
    return _png(fig)


def _show(x):
    """(C, H, W) or (H, W) array → (H, W) or (H, W, 3) in [0, 1] for imshow."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def run_method(setup, args):
    """Compute the method's figure for a loaded run; returns (png bytes, caption, record)."""
    from . import attribution as A
    from . import adversarial, optimize
    from ..train.tasks import Classification
    model, data = setup.model, setup.data
    if not isinstance(setup.task, Classification):   # its outputs are no class scores
        raise RunError(f"interpret needs an image classifier; this is a run of "
                       f"{setup.experiment.name!r}, whose task is {setup.task.name!r}, not "
                       "classification")
    if data.image_shape is None or len(data.x_test.shape) != 4:
        raise RunError(f"interpret needs an image classifier that takes "
                         f"(N, C, H, W) images; this run's inputs have shape "
                         f"{tuple(data.x_test.shape[1:])}")
    model.eval()
    n_test = len(data.x_test)
    if not 0 <= args.index < n_test:
        raise RunError(f"--index {args.index} is out of range (the test set "
                         f"has {n_test} images)")
    x = as_tensor(data.x_test[args.index:args.index + 1])
    with autograd.no_grad():
        pred = int(model(x).numpy().argmax(1)[0])
    target = pred if args.target is None else args.target
    k = data.num_classes
    if not 0 <= target < k:
        raise RunError(f"--target {target} is out of range for {k} classes")
    cls = list(data.classes)
    label = f"test image {args.index} (true {cls[int(data.y_test[args.index])]}, predicted " \
            f"{cls[pred]}), explaining {cls[target]}"
    m = args.method
    record = {"method": m, "index": args.index, "target": target}
    if m in ("saliency", "smoothgrad", "guided", "gradcam", "occlusion"):
        if m == "saliency":
            attr = A.Saliency(model).attribute(x, target=target)
        elif m == "smoothgrad":
            attr = A.NoiseTunnel(A.Saliency(model)).attribute(x, nt_samples=25, stdevs=0.15,
                                                              target=target)
        elif m == "guided":
            attr = A.GuidedBackprop(model).attribute(x, target=target)
        elif m == "gradcam":
            name, layer = _pick_layer(model, args.layer, first=False)
            cam = A.LayerGradCam(model, layer).attribute(x, target=target,
                                                         relu_attributions=True)
            attr = A.LayerAttribution.interpolate(cam, x.shape[2:])
            record["layer"] = name
        else:
            attr = A.Occlusion(model).attribute(x, sliding_window_shapes=(x.shape[1], 5, 5),
                                                strides=(x.shape[1], 2, 2), target=target)
        a = attr.numpy()[0]
        a = np.abs(a).max(0) if m in ("saliency", "smoothgrad") else a.sum(0)
        png = _row_png([_show(x.numpy()[0]), a, _show(x.numpy()[0]) * 0.5 + _show(a) * 0.5],
                       ["input", m, "overlay"], label, ["gray", "viridis" if m != "occlusion"
                                                        else "RdBu_r", "viridis"])
        return png, f"{m}: {label}", record
    if m == "filters":
        name, layer = _pick_layer(model, args.layer, first=True)
        imgs = optimize.filters_as_images(layer)
        return _grid_png(list(imgs), f"filters of {name}"), f"filters of layer {name}", \
            dict(record, layer=name)
    if m == "patches":
        name, layer = _pick_layer(model, args.layer, first=True)
        xs = as_tensor(data.x_test[:2000])
        patches = optimize.top_activating_patches(model, layer, xs, args.channel, k=16)
        imgs = [_show(p["patch"]) for p in patches]
        titles = [f"#{p['index']} {p['activation']:.2f}" for p in patches]
        return _grid_png(imgs, f"top patches of {name}, channel {args.channel}", titles), \
            f"top-16 test patches of {name} channel {args.channel} (receptive fields)", \
            dict(record, layer=name, channel=args.channel)
    if m == "class-model":
        imgs, titles, gains = [], [], []
        for c in range(k):
            img, hist = optimize.class_model_visualization(model, c, tuple(x.shape[1:]),
                                                           steps=100, lr=0.1, l2=1e-2)
            imgs.append(_show(img.numpy()[0]))
            titles.append(cls[c])
            gains.append((hist[0], hist[-1]))
        record["objective_start_end"] = gains
        return _grid_png(imgs, "class-model visualisation argmax S_c(I) − λ‖I‖²", titles,
                         cols=min(k, 10)), "class models (one image per class)", record
    if m in ("inversion", "dream"):
        name, layer = _pick_layer(model, args.layer, first=False)
        if m == "inversion":
            img, hist = optimize.feature_inversion(model, layer, x, steps=200)
        else:
            img, hist = optimize.deep_dream(model, layer, x, steps=30)
        record.update(layer=name, objective_start=hist[0], objective_end=hist[-1])
        png = _row_png([_show(x.numpy()[0]), _show(img.numpy()[0])], ["input", m],
                       f"{m} from layer {name}")
        return png, f"{m} from layer {name} of test image {args.index}", record
    # attacks
    n = min(args.samples, n_test)
    # attack in pixel units: the run's inputs are standardised, x = (pixel·(hi − lo)) + lo, so
    # the model gets (pixel − mean)/std with mean = −lo/(hi − lo), std = 1/(hi − lo)
    lo, hi = float(data.x_test.min()), float(data.x_test.max())
    pixels = as_tensor(((data.x_test[:n] - lo) / (hi - lo)).astype(data.x_test.dtype))
    ys = as_tensor(data.y_test[:n].astype(np.int64))
    kw = dict(normalize=(-lo / (hi - lo), 1.0 / (hi - lo)))
    if m == "pgd":
        kw.update(alpha=0.01, steps=20)
    curve = adversarial.accuracy_under_attack(model, pixels, ys, EPSILONS, attack=m, **kw)
    record.update(epsilons=list(EPSILONS), accuracy=curve, samples=n)
    return _curve_png(list(EPSILONS), {m: curve}, f"{m}: test accuracy against ε ({n} images)"), \
        f"{m}: accuracy against ε on {n} test images " + \
        ", ".join(f"ε={e}: {a:.1%}" for e, a in zip(EPSILONS, curve)), record


def interpret_cli(argv=None, stream=None) -> int:
    return run_interpret(build_parser().parse_args(argv), stream)


def run_interpret(args, stream=None) -> int:
    from ..train.checkpoint import atomic_write
    from ..train.run import RunDir
    from ..train.trainer import load_run
    stream = stream or sys.stdout
    run = RunDir(args.run)
    setup, _ = load_run(run.path, args.weights)
    png, caption, record = run_method(setup, args)
    os.makedirs(run.plots, exist_ok=True)
    path = os.path.join(run.plots, f"interpret_{args.method.replace('-', '_')}.png")
    atomic_write(path, lambda f: f.write(png))
    atomic_write(path[:-4] + ".txt", lambda f: f.write(caption.encode("utf-8")))
    log = os.path.join(run.path, "interpret.json")
    records = {}
    if os.path.exists(log):
        try:
            with open(log) as f:
                records = json.load(f)
        except (OSError, ValueError):
            records = {}
    records[args.method] = record
    atomic_write(log, lambda f: f.write(json.dumps(records, indent=1).encode("utf-8")))
    print(f"{caption}\nwrote {path}", file=stream)
    return 0


def main(argv=None):  # pragma: no cover - thin wrapper
    raise SystemExit(interpret_cli(argv))

