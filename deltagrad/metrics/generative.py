"""Metrics of a generative model's samples under a fixed network (seed 004 §9.3.3–9.3.4).

Fréchet Inception Distance (Heusel et al. 2017): the features f(x) of real and generated
images, each side taken as a Gaussian N(μ, Σ), compared by the Wasserstein-2 distance

    FID = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}).

Inception Score (Salimans et al. 2016): a classifier's p(y | x) on the generated images,

    IS = exp(E_x KL(p(y | x) ‖ p(y))),   p(y) = E_x p(y | x),

computed on ``splits`` consecutive chunks of the images and reported as (mean, std) over
them. IS is 1 when every p(y | x) equals p(y) (no confident class) and K when each image is
one sure class and the K classes are equally frequent.

``feature`` / ``classifier`` is any deltagrad Module (run in eval mode without gradients and
left in the mode it was in) or callable of a batch of images; by default the Fashion-MNIST
classifier of :mod:`.feature_network` (its penultimate layer for FID, its softmax for IS).
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, from_numpy


def _logsumexp(a, axis, keepdims=False):
    """``log Σ exp(a)`` along ``axis`` (SciPy's, imported here: ``import scipy.special`` costs
    0.13 s, which a script that never scores a generative model should not pay)."""
    import scipy.special
    return scipy.special.logsumexp(a, axis=axis, keepdims=keepdims)


def _images(images, op, expected_shape) -> Tensor:
    if isinstance(images, Tensor):
        x = images.detach()
    else:
        try:
            a = np.asarray(images)
        except Exception:
            raise TypeError(f"{op}: images must be a Tensor or an array, got "
                            f"{type(images).__name__}") from None
        if a.dtype.kind not in "fiub":
            raise TypeError(f"{op}: images must be numeric, got dtype {a.dtype}")
        x = from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    if x.ndim < 2:
        raise ValueError(f"{op}: images must be a batch (N, ...), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{op}: got an empty batch of images")
    if expected_shape is not None and tuple(x.shape[1:]) != tuple(expected_shape):
        raise ValueError(f"{op}: images must have shape (N, {', '.join(map(str, expected_shape))}"
                         f"), got {tuple(x.shape)}")
    if np.dtype(x.dtype).kind != "f":
        x = x.to(backend.get_default_dtype())
    return x


def _run(network, x: Tensor) -> np.ndarray:
    """network(x) as a float64 NumPy array, in eval mode, without gradients."""
    owner = getattr(network, "__self__", network)  # a bound method such as model.features
    was = getattr(owner, "training", None)
    if was is not None:
        owner.eval()
    try:
        with no_grad():
            out = network(x)
    finally:
        if was is not None:
            owner.train(was)
    out = backend.to_numpy(out.detach()._data) if isinstance(out, Tensor) else np.asarray(out)
    return out.astype(np.float64)


def _input_shape(network, input_shape):
    if input_shape is not None:
        return tuple(input_shape)
    shape = getattr(getattr(network, "__self__", network), "input_shape", None)
    return tuple(shape) if shape is not None else None


class _Moments:
    """Running float64 sums n, Σ f and Σ f fᵀ: mean and covariance independent of batching."""

    def __init__(self):
        self.n, self.sum, self.outer = 0, None, None

    def add(self, f: np.ndarray) -> None:
        if self.sum is None:
            self.sum, self.outer = np.zeros(f.shape[1]), np.zeros((f.shape[1], f.shape[1]))
        self.n += len(f)
        self.sum += f.sum(0)
        self.outer += f.T @ f

    def mean_cov(self):
        mu = self.sum / self.n
        cov = (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)
        return mu, cov


class FrechetInceptionDistance:
    """FID between the real and the generated images fed through :meth:`update`.

    ``feature``: a Module or callable mapping images (N, ...) to features (N, d); None for
    the penultimate layer of the cached Fashion-MNIST classifier (28×28 images in [−1, 1]).
    ``input_shape`` (default: ``feature.input_shape`` if it has one) is checked on every
    batch. ``reset_real_features=False`` keeps the real statistics through :meth:`reset`
    (per-epoch FID against one real set).
    """

    def __init__(self, feature=None, input_shape=None, reset_real_features: bool = True,
                 eps: float = 1e-6):
        if feature is None:
            from .feature_network import fashion_mnist_classifier
            feature = fashion_mnist_classifier().features
            input_shape = input_shape or (1, 28, 28)
        if not callable(feature):
            raise TypeError(f"FrechetInceptionDistance: feature must be a Module or a callable "
                            f"of a batch of images, got {type(feature).__name__}")
        self.feature = feature
        self.input_shape = _input_shape(feature, input_shape)
        self.reset_real_features = bool(reset_real_features)
        self.eps = float(eps)
        self._real, self._fake = _Moments(), _Moments()

    def update(self, images, real: bool = True) -> None:
        """Add a batch of real (``real=True``) or generated images to the running sums."""
        op = "FrechetInceptionDistance.update"
        x = _images(images, op, self.input_shape)
        if self.input_shape is None:
            self.input_shape = tuple(x.shape[1:])
        f = _run(self.feature, x)
        f = f.reshape(len(f), -1) if f.ndim > 2 else f
        if f.ndim != 2 or len(f) != x.shape[0]:
            raise ValueError(f"{op}: feature must return one vector per image, (N, d) for "
                             f"N = {x.shape[0]}, got shape {f.shape}")
        other = self._real.sum if self._real.sum is not None else self._fake.sum
        if other is not None and len(other) != f.shape[1]:
            raise ValueError(f"{op}: feature returned {f.shape[1]} features, earlier batches "
                             f"had {len(other)}")
        if not np.isfinite(f).all():
            raise ValueError(f"{op}: the features of this batch hold NaN or Inf")
        (self._real if real else self._fake).add(f)

    def reset(self) -> None:
        """Forget the generated images (and the real ones unless reset_real_features=False)."""
        self._fake = _Moments()
        if self.reset_real_features:
            self._real = _Moments()

    def compute(self) -> float:
        """‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}), in float64."""
        for side, m in (("real", self._real), ("generated", self._fake)):
            if m.n < 2:
                raise ValueError(f"FrechetInceptionDistance.compute: needs at least 2 {side} "
                                 f"images for a covariance, got {m.n}")
        mu_r, cov_r = self._real.mean_cov()
        mu_g, cov_g = self._fake.mean_cov()
        return frechet_distance(mu_r, cov_r, mu_g, cov_g, self.eps)


def frechet_distance(mu1, cov1, mu2, cov2, eps: float = 1e-6) -> float:
    """The Fréchet distance of N(μ₁, Σ₁) and N(μ₂, Σ₂). (Σ₁Σ₂)^{1/2} by
    ``scipy.linalg.sqrtm``; when the product is singular (SciPy warns, or the root is not
    finite), ε I is added to both covariances first, as pytorch-fid does. Round-off makes
    the root complex for a PSD product; the imaginary part is dropped only when it is
    negligible (≤ 1e-3 · max(1, max |real part|)), else an error."""
    import scipy.linalg  # here: it costs 0.2 s of every ``import deltagrad`` otherwise
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov1 @ cov2)
    if caught or not np.isfinite(covmean).all():  # singular (e.g. dead ReLU features)
        offset = np.eye(len(cov1)) * eps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            covmean = scipy.linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(covmean.imag).max()
        if imag > 1e-3 * max(1.0, np.abs(covmean.real).max()):
            raise ValueError(f"frechet_distance: the matrix square root (Σ_r Σ_g)^(1/2) has an "
                             f"imaginary part of {imag:.3g}, not negligible round-off: the "
                             "covariances are not positive semi-definite (too few images for "
                             "the feature dimension?)")
        covmean = covmean.real
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(covmean))


class InceptionScore:
    """IS = exp(E_x KL(p(y|x) ‖ p(y))) of the images fed through :meth:`update`, as
    (mean, std) over ``splits`` consecutive chunks (Salimans et al.'s protocol; std with
    ddof 0 as their code).

    ``classifier``: a Module or callable mapping images to class logits (N, K) (softmax
    applied here, by log-sum-exp); ``probabilities=True`` if it returns p(y|x) itself. None:
    the cached Fashion-MNIST classifier (28×28 images in [−1, 1])."""

    def __init__(self, classifier=None, splits: int = 10, input_shape=None,
                 probabilities: bool = False):
        if classifier is None:
            from .feature_network import fashion_mnist_classifier
            classifier = fashion_mnist_classifier()
        if not callable(classifier):
            raise TypeError(f"InceptionScore: classifier must be a Module or a callable of a "
                            f"batch of images, got {type(classifier).__name__}")
        if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)) or splits < 1:
            raise ValueError(f"InceptionScore: splits must be a positive integer, got {splits!r}")
        self.classifier, self.splits = classifier, int(splits)
        self.input_shape = _input_shape(classifier, input_shape)
        self.probabilities = bool(probabilities)
        self._p = []

    def update(self, images) -> None:
        op = "InceptionScore.update"
        x = _images(images, op, self.input_shape)
        if self.input_shape is None:
            self.input_shape = tuple(x.shape[1:])
        z = _run(self.classifier, x)
        if z.ndim != 2 or len(z) != x.shape[0] or z.shape[1] < 2:
            raise ValueError(f"{op}: classifier must return (N, K) class scores, K >= 2, for "
                             f"N = {x.shape[0]} images, got shape {z.shape}")
        if self._p and self._p[0].shape[1] != z.shape[1]:
            raise ValueError(f"{op}: classifier returned {z.shape[1]} classes, earlier batches "
                             f"had {self._p[0].shape[1]}")
        if self.probabilities:
            if (z < 0).any() or not np.allclose(z.sum(1), 1, atol=1e-4):
                raise ValueError(f"{op}: probabilities=True needs rows of p(y|x) that are "
                                 "non-negative and sum to 1")
            logp = np.log(np.clip(z, 1e-300, None))
        else:
            if not np.isfinite(z).all():
                raise ValueError(f"{op}: the classifier's logits hold NaN or Inf")
            logp = z - _logsumexp(z, axis=1, keepdims=True)
        self._p.append(logp)

    def reset(self) -> None:
        self._p = []

    def compute(self) -> tuple:
        """(mean, std) of exp(mean_x Σ_y p(y|x) [log p(y|x) − log p_k(y)]) over the splits."""
        logp = np.concatenate(self._p) if self._p else np.zeros((0, 0))
        if len(logp) < self.splits:
            raise ValueError(f"InceptionScore.compute: needs at least splits={self.splits} "
                             f"images (one per split), got {len(logp)}")
        scores = []
        for chunk in np.array_split(logp, self.splits):
            log_py = _logsumexp(chunk, axis=0) - np.log(len(chunk))
            p = np.exp(chunk)
            kl = (p * (chunk - log_py)).sum(1)
            scores.append(np.exp(kl.mean()))
        return float(np.mean(scores)), float(np.std(scores))


def mode_coverage(samples, centers, std: float) -> dict:
    """Mode-collapse diagnostics of a mixture of Gaussians (Srivastava et al. 2017, VEEGAN;
    Metz et al. 2017, Unrolled GAN): a sample is *high quality* when it lies within 3σ of its
    nearest mode; a mode is *covered* when it is the nearest mode of at least one high-quality
    sample. Returns ``{"modes_covered", "high_quality" (share of samples), "counts"}`` with
    the high-quality samples per mode."""
    x = np.asarray(samples.detach().numpy() if isinstance(samples, Tensor) else samples,
                   dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1] or len(x) == 0:
        raise ValueError(f"mode_coverage: samples (N, d) and centers (K, d) with the same d "
                         f"and N >= 1, got {x.shape} and {c.shape}")
    if not std > 0:
        raise ValueError(f"mode_coverage: std must be positive, got {std!r}")
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = np.sqrt(d2[np.arange(len(x)), nearest]) <= 3 * std
    counts = np.bincount(nearest[good], minlength=len(c))
    return {"modes_covered": int((counts > 0).sum()), "high_quality": float(good.mean()),
            "counts": counts}
