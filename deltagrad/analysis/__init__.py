"""Looking at models: ``summary`` (shapes, parameters, FLOPs, receptive field)."""
from .summary import (summary, summary_cli, Summary, LayerRow, layer_flops,  # noqa: F401
                      format_summary)
from .trace import trace, Trace, TraceStep, trace_cli, format_trace  # noqa: F401
from .regions import count_linear_regions, linear_region_breakpoints  # noqa: F401
from .calculators import (conv_output_size, conv_transpose_output_size,  # noqa: F401
                          receptive_field, conv_params, conv_flops,
                          depthwise_separable_ratio, mlp_param_count)
