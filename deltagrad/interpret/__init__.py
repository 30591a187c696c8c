"""``dg.interpret``: seeing inside networks (seed 003, "Ways to visualize and interpret a CNN").

Attribution methods follow Captum's class names and ``.attribute(inputs, target=...)``.
"""
from .attribution import (Deconvolution, GuidedBackprop, GuidedGradCam,  # noqa: F401
                          IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel,
                          Occlusion, Saliency, input_gradient, layer_activation,
                          relu_backward_rule, select_target)
from .optimize import (activation_maximization, class_model_visualization,  # noqa: F401
                       deep_dream, eval_mode, feature_inversion, filters_as_images,
                       fooling_image, optimize_image, receptive_window, top_activating_patches,
                       total_variation)
from .style import StyleTransfer, content_loss, gram_matrix, style_loss  # noqa: F401
from .adversarial import accuracy_under_attack, fgsm, pgd  # noqa: F401
