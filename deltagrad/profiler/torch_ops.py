"""``torch.ops`` under run-torch: only the ``profiler`` namespace (``deltagrad.ops.profiler``),
which torch.fx graphs of ``record_function`` call. Any other ``torch.ops.x`` is not supported
by deltagrad (there is no operator registry to look names up in)."""
from ..ops import profiler  # noqa: F401
