"""The profiler's text table, laid out as PyTorch's (``prof.key_averages().table(...)``).

One row per event or average: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU time avg,
# of Calls (and Input Shapes when shapes were recorded). Percentages are of the summed self
time of all rows, which is the footer's ``Self CPU time total``. Columns are 12 characters
wide, right-aligned, two spaces apart; the name column is as wide as the longest name + 4, at
most ``max_name_column_width``.
"""
from __future__ import annotations

from .events import SORT_KEYS

__all__ = ["build_table", "format_time"]

_COLUMN = 12
_SPACING = 2


def format_time(us: float, unit=None) -> str:
    """1.5 → ``1.500us``, 2500 → ``2.500ms``, 3e6 → ``3.000s`` (or in the ``unit`` asked for)."""
    if unit not in (None, "s", "ms", "us"):
        raise ValueError(f"table: time_unit must be 's', 'ms', 'us' or None, got {unit!r}")
    if unit == "s" or (unit is None and us >= 1e6):
        return f"{us / 1e6:.3f}s"
    if unit == "ms" or (unit is None and us >= 1e3):
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _share(us: float, total: float) -> str:
    return "NaN" if total == 0 else f"{us * 100.0 / total:.2f}%"


def build_table(events, sort_by=None, row_limit=100, max_name_column_width=55,
                max_shapes_column_width=80, header=None, top_level_events_only=False,
                time_unit=None) -> str:
    if sort_by is not None and sort_by not in SORT_KEYS:
        raise AttributeError(f"table: cannot sort by {sort_by!r}; the keys are "
                             f"{', '.join(SORT_KEYS)} (deltagrad's profiler records CPU time "
                             "and calls only: no device time, memory or FLOPs)")
    if isinstance(row_limit, bool) or not isinstance(row_limit, int):
        raise TypeError(f"table: row_limit must be an int, got {type(row_limit).__name__}")
    if len(events) == 0:
        return ""
    if sort_by is not None:
        events = sorted(events, key=lambda e: getattr(e, sort_by), reverse=True)
    has_shapes = any(e.input_shapes for e in events)

    name_width = min(max(len(e.key) for e in events) + 4, max_name_column_width)
    shapes_width = min(max(len(str(e.input_shapes)) for e in events) + 4, max_shapes_column_width)
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
               "# of Calls"]
    widths = [name_width] + [_COLUMN] * 6
    if has_shapes:
        headers.append("Input Shapes")
        widths.append(shapes_width)
    row_format = "".join("{:>" + str(w) + "}" + " " * _SPACING for w in widths)
    separator = "".join("-" * w + " " * _SPACING for w in widths)
    line_length = sum(widths) + _SPACING * (len(widths) - 1)

    total_self = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * line_length, header]
    lines += [separator, row_format.format(*headers), separator]
    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_events_only and getattr(e, "cpu_parent", None) is not None:
            continue
        shown += 1
        name = e.key
        if len(name) >= max_name_column_width - 3:
            name = name[:max_name_column_width - 3] + "..."
        row = [name, _share(e.self_cpu_time_total, total_self),
               format_time(e.self_cpu_time_total, time_unit),
               _share(e.cpu_time_total, total_self), format_time(e.cpu_time_total, time_unit),
               format_time(e.cpu_time, time_unit), e.count]
        if has_shapes:
            shapes = str(e.input_shapes)
            row.append(shapes if len(shapes) < shapes_width else shapes[:shapes_width - 3] + "...")
        lines.append(row_format.format(*row))
    lines += [separator, f"Self CPU time total: {format_time(total_self, time_unit)}"]
    return "\n".join(lines) + "\n"
