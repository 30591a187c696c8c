"""Looking at models: ``summary`` (shapes, parameters, FLOPs, receptive field)."""
from .summary import (summary, summary_cli, Summary, LayerRow, layer_flops,  # noqa: F401
                      format_summary)
from .trace import trace, Trace, TraceStep, trace_cli, format_trace  # noqa: F401
from .regions import count_linear_regions, linear_region_breakpoints  # noqa: F401
from .calculators import (conv_output_size, conv_transpose_output_size,  # noqa: F401
                          receptive_field, conv_params, conv_flops,
                          depthwise_separable_ratio, mlp_param_count)
from .pca import pca, PCA, principal_angles  # noqa: F401
from .latent import (encode_dataset, decode_codes, latent_grid, decoder_grid,  # noqa: F401
                     interpolation_strip, fit_code_gaussian, gaussian_code_samples,
                     image_grid_png, latent_scatter_png, decoder_grid_png, interpolation_png,
                     ae_vs_vae_samples_png)
