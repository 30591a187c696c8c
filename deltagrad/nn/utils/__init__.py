"""``dg.nn.utils``: gradient clipping, parameters ↔ vector conversion, weight and spectral
normalisation (hooks, and as parametrizations)."""
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector",
           "vector_to_parameters"]

from . import rnn  # noqa: E402,F401  (nn.utils.rnn: pad_sequence, pack_padded_sequence, ...)
__all__ += ["rnn"]

from . import parametrize, parametrizations  # noqa: E402,F401
from .weight_norm import weight_norm, remove_weight_norm  # noqa: E402,F401
from .spectral_norm import spectral_norm, remove_spectral_norm  # noqa: E402,F401
__all__ += ["parametrize", "parametrizations", "weight_norm", "remove_weight_norm",
            "spectral_norm", "remove_spectral_norm"]
