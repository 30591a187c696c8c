"""``deltagrad interpret RUN --method M``: saliency, Grad-CAM, occlusion, filters, patches,
class models, inversion, Deep Dream and adversarial accuracy of a trained image classifier
(the work is in ``deltagrad.interpret.cli``)."""
from __future__ import annotations


def add_parser(sub) -> None:
    from ..interpret.cli import HELP, add_arguments
    p = sub.add_parser("interpret", help="look inside a trained image classifier (saliency, "
                       "Grad-CAM, occlusion, filters, adversarial examples, ...)",
                       description=HELP)
    add_arguments(p)


def cmd_interpret(args) -> int:
    from ..interpret.cli import run_interpret
    return run_interpret(args)
