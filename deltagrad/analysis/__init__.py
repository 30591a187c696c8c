"""Looking at models: ``summary`` (shapes, parameters, FLOPs, receptive field)."""
from .summary import summary, Summary, LayerRow, layer_flops, format_summary  # noqa: F401
