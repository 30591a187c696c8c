"""``deltagrad report RUN``: one self-contained HTML page about a run.

RUN/report.html shows the settings, the per-epoch table, the training/validation/test
curves, the confusion matrix and grids of correct and wrong test predictions. The figures
are PNGs written to RUN/plots/ and embedded in the page as ``data:`` URIs, so the page
can be moved or mailed alone.
"""
from __future__ import annotations

import base64
import html
import json
import os
import warnings

import numpy as np

from ..train.checkpoint import atomic_write
from ..train.run import RunDir
from . import plots

__all__ = ["write_report"]

GRID = 16  # images per prediction grid


def _img(name: str, png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img id="{name}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(alt)}</figcaption>'
            "</figure>")


def _table(history: list) -> str:
    if not history:
        return "<p>no finished epoch</p>"
    keys = [k for k in history[0] if k != "epoch"]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in ["epoch"] + keys)
    body = []
    for r in history:
        cells = [str(r["epoch"])] + [f"{r[k]:.4g}" if isinstance(r.get(k), float)
                                     else html.escape(str(r.get(k, ""))) for k in keys]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _prediction_grids(evaluation: dict, data) -> list:
    """(name, png, caption) for the first correct and first wrong test predictions."""
    if data.image_shape is None or "predictions" not in evaluation:
        return []
    pred, true = evaluation["predictions"], data.y_test
    images = data.x_test.reshape((len(data.x_test),) + tuple(data.image_shape))
    out = []
    for name, mask, title in (("correct", pred == true, "correct test predictions"),
                              ("wrong", pred != true, "wrong test predictions")):
        idx = np.flatnonzero(mask)[:GRID]
        if len(idx):
            png = plots.predictions_png(images[idx], true[idx], pred[idx],
                                        list(data.classes), title)
            out.append((f"predictions_{name}", png, f"{title} ({mask.sum()} in all)"))
    return out


def _interpret_figures(plots_dir: str) -> list:
    """(name, png, caption) of the figures ``deltagrad interpret`` wrote into RUN/plots/."""
    out = []
    for name in sorted(os.listdir(plots_dir)):
        if name.startswith("interpret_") and name.endswith(".png"):
            base = os.path.join(plots_dir, name[:-4])
            with open(base + ".png", "rb") as f:
                png = f.read()
            caption = name[len("interpret_"):-4]
            if os.path.exists(base + ".txt"):
                with open(base + ".txt", encoding="utf-8") as f:
                    caption = f.read().strip() or caption
            out.append((name[:-4], png, caption))
    return out


def write_report(run_path: str, weights: str = "best", warn=None) -> str:
    """Write RUN/report.html (and RUN/plots/*.png); return the page's path. Lines of
    metrics.jsonl that cannot be read are skipped, named through ``warn(message)`` (default
    :func:`warnings.warn`) and listed on the page."""
    from ..train.trainer import evaluate_loaded, load_run

    run = RunDir(run_path)
    config = run.read_config()
    problems = []

    def skipped(message):
        problems.append(message)
        (warn or (lambda m: warnings.warn(m, RuntimeWarning, stacklevel=3)))(message)
    history = run.read_metrics(warn=skipped)
    setup, state = load_run(run.path, weights)
    evaluation = evaluate_loaded(setup, state, run.path, weights)
    figures = []
    if history:
        figures.append(("curves", plots.curves_png(history), "loss and accuracy per epoch"))
    if "confusion_matrix" in evaluation:
        figures.append(("confusion", plots.confusion_png(evaluation["confusion_matrix"],
                                                         evaluation["classes"]),
                        f"confusion matrix, test set ({weights} weights, epoch "
                        f"{evaluation['epoch']})"))
    figures += _prediction_grids(evaluation, setup.data)
    extra = getattr(setup.experiment.model, "figures", None)  # an experiment's own plots
    if extra is not None:
        more = {"run": run.path} if getattr(extra, "wants_run", False) else {}  # e.g. GANs
        figures += extra(setup.experiment.name, setup.model, setup.data, history, **more)

    os.makedirs(run.plots, exist_ok=True)
    for name, png, _ in figures:
        atomic_write(os.path.join(run.plots, name + ".png"), lambda f, b=png: f.write(b))
    inside = _interpret_figures(run.plots)

    headline = (f"test loss {evaluation['test_loss']:.4f}"
                + (f", test accuracy {evaluation['test_accuracy']:.2%}"
                   if "test_accuracy" in evaluation else "")
                + f" on {evaluation['test_samples']} test samples")
    title = f"deltagrad run: {config['experiment']} on {evaluation['dataset']}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1150px; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }}
pre {{ background: #f5f5f5; padding: 0.5em; }}
.result {{ font-size: 1.2em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="result">{html.escape(headline)}</p>
<p class="weights">Weights: {html.escape(evaluation['selection'])}; {len(history)} epochs
trained.</p>
{''.join(f'<p class="warning">{html.escape(p)}</p>' for p in problems)}
<h2>Figures</h2>
{''.join(_img(name, png, caption) for name, png, caption in figures)}
{"<h2>Seeing inside (deltagrad interpret)</h2>" if inside else ""}
{''.join(_img(name, png, caption) for name, png, caption in inside)}
<h2>Epochs</h2>
{_table(history)}
<h2>Settings</h2><pre>{html.escape(json.dumps(config, indent=2, sort_keys=True))}</pre>
<script>
window.addEventListener("load", function () {{
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
}});
</script>
</body></html>
"""
    atomic_write(run.report, lambda f: f.write(page.encode("utf-8")))
    return run.report
