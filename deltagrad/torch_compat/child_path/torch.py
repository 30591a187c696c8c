"""``import torch`` in a ``spawn``/``forkserver`` child of a program run under ``run-torch``.

Such a child is a fresh interpreter: it gets the parent's ``sys.path`` (where ``install()``
put this folder first) but not its import hooks. Before it unpickles its target it
re-imports the program's main file as ``__mp_main__``, whose ``import torch`` lands here:
install deltagrad's torch alias (which drops this module from ``sys.modules``) and hand back
the alias in its place, so the child's ``torch`` is deltagrad, as in the parent.
"""
import importlib

from deltagrad.torch_compat import install

install()
importlib.import_module("torch")  # the alias now, registered in sys.modules as "torch"
