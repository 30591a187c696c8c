"""``python -m deltagrad.cli``: the ``deltagrad`` command."""
import sys

from . import main

sys.exit(main())
