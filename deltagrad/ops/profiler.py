"""``torch.ops.profiler``: the operators that open and close a ``record_function`` range (a
torch.fx graph calls them; see ``deltagrad/profiler/record_function.py``)."""
from ..profiler.record_function import _record_function_enter, _record_function_exit  # noqa: F401
