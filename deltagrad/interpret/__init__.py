"""``dg.interpret``: seeing inside networks (seed 003, "Ways to visualize and interpret a CNN").

Attribution methods follow Captum's class names and ``.attribute(inputs, target=...)``.
"""
from .attribution import (Deconvolution, GuidedBackprop, GuidedGradCam,  # noqa: F401
                          IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel,
                          Occlusion, Saliency, input_gradient, layer_activation,
                          relu_backward_rule, select_target)
