"""``dg.metrics``: evaluation metrics, plain numbers without gradients.

- :mod:`.classification`: accuracy, error rate, confusion matrix, mean squared error;
- :mod:`.generative`: the Fréchet Inception Distance and the Inception Score of a generative
  model's samples, under any feature network / classifier;
- :mod:`.feature_network`: the default one for 28×28 grey images, a Fashion-MNIST classifier
  trained by deltagrad once and cached locally.
"""
from .classification import accuracy, confusion_matrix, error_rate, mse  # noqa: F401
from .feature_network import FashionMNISTClassifier, fashion_mnist_classifier  # noqa: F401
from .generative import FrechetInceptionDistance, InceptionScore, mode_coverage  # noqa: F401

__all__ = ["accuracy", "error_rate", "confusion_matrix", "mse", "FrechetInceptionDistance",
           "InceptionScore", "mode_coverage", "FashionMNISTClassifier", "fashion_mnist_classifier"]
