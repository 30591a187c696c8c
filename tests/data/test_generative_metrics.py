"""FID and Inception Score (issue 15) against direct NumPy/SciPy computations, their limits
(FID(real, real) = 0, IS = 1 and IS = K) and their errors."""
import numpy as np
import pytest
import scipy.linalg

import deltagrad as dg
from deltagrad import nn
from deltagrad.metrics import FrechetInceptionDistance, InceptionScore
from deltagrad.metrics.generative import frechet_distance


def _feature():
    dg.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(36, 8), nn.Tanh())


def _direct_fid(f1, f2):
    """The formula with NumPy's mean/cov and SciPy's sqrtm, nothing shared with the class."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fid_equals_a_direct_computation_and_ignores_batching():
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (1000, 1, 6, 6)).astype(np.float32)
    fake = (rng.uniform(-1, 1, (1000, 1, 6, 6)) * 0.6 + 0.2).astype(np.float32)
    feat = _feature()
    with dg.no_grad():
        fr = feat(dg.from_numpy(real)).numpy().astype(np.float64)
        ff = feat(dg.from_numpy(fake)).numpy().astype(np.float64)
    want = _direct_fid(fr, ff)

    def batched(feature, batch):
        fid = FrechetInceptionDistance(feature)
        for i in range(0, 1000, batch):
            fid.update(real[i:i + batch], real=True)
            fid.update(dg.from_numpy(fake[i:i + batch]), real=False)
        return fid.compute()
    assert want > 0.1
    # a float32 GEMM rounds differently per batch size (1e-7 in the features)
    assert batched(feat, 10) == pytest.approx(want, rel=1e-6)
    assert batched(feat, 1000) == pytest.approx(want, rel=1e-6)
    # with features that do not depend on the batch, the float64 sums agree to round-off
    def pixels(x):
        return x.reshape(x.shape[0], 36)[:, ::4]
    assert batched(pixels, 10) == pytest.approx(batched(pixels, 1000), rel=1e-11)


def test_fid_of_a_set_with_itself_is_zero_and_reset():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (300, 1, 6, 6)).astype(np.float32)
    fid = FrechetInceptionDistance(_feature(), reset_real_features=False)
    fid.update(x, real=True)
    fid.update(x, real=False)
    assert abs(fid.compute()) < 1e-6
    fid.reset()                                   # real statistics kept, fakes forgotten
    with pytest.raises(ValueError, match="needs at least 2 generated images.*got 0"):
        fid.compute()
    fid.update(x[:150], real=False)
    fid.update(x[150:], real=False)
    assert abs(fid.compute()) < 1e-6


def test_fid_of_two_gaussians_has_its_closed_form():
    """N(μ₁, I) vs N(μ₂, 4I) in d dims: ‖μ₁ − μ₂‖² + d(1 + 4 − 2·2) = ‖μ₁ − μ₂‖² + d."""
    d = 3
    assert frechet_distance(np.zeros(d), np.eye(d), np.ones(d), 4 * np.eye(d)) == \
        pytest.approx(d + d, rel=1e-12)


def test_fid_errors():
    fid = FrechetInceptionDistance(_feature(), input_shape=(1, 6, 6))
    fid.update(np.zeros((1, 1, 6, 6), np.float32), real=True)
    fid.update(np.zeros((5, 1, 6, 6), np.float32), real=False)
    with pytest.raises(ValueError, match=r"needs at least 2 real images.*got 1"):
        fid.compute()
    with pytest.raises(ValueError, match=r"update: images must have shape \(N, 1, 6, 6\)"):
        fid.update(np.zeros((3, 1, 5, 5), np.float32))
    with pytest.raises(ValueError, match="empty batch"):
        fid.update(np.zeros((0, 1, 6, 6), np.float32))
    with pytest.raises(TypeError, match="feature must be a Module or a callable"):
        FrechetInceptionDistance(feature=3)
    bad = FrechetInceptionDistance(lambda x: dg.zeros(x.shape[0] + 1, 2))
    with pytest.raises(ValueError, match=r"one vector per image"):
        bad.update(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="imaginary part"):   # an indefinite "covariance"
        frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))


def _direct_is(p, splits):
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(0)
        scores.append(np.exp(np.mean([np.sum(q * (np.log(q) - np.log(py))) for q in part])))
    return np.mean(scores), np.std(scores)


def test_inception_score_equals_a_direct_computation():
    rng = np.random.default_rng(2)
    clf = nn.Sequential(nn.Flatten(), nn.Linear(36, 5))
    x = rng.uniform(-1, 1, (200, 1, 6, 6)).astype(np.float32)
    with dg.no_grad():
        z = clf(dg.from_numpy(x)).numpy().astype(np.float64)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    score = InceptionScore(clf, splits=4)
    for i in range(0, 200, 30):
        score.update(x[i:i + 30])
    mean, std = score.compute()
    want = _direct_is(p, 4)
    assert mean == pytest.approx(want[0], rel=1e-9) and std == pytest.approx(want[1], rel=1e-6)


def test_inception_score_limits():
    rng = np.random.default_rng(3)
    noise = rng.uniform(-1, 1, (500, 1, 6, 6)).astype(np.float32)
    uncertain = nn.Sequential(nn.Flatten(), nn.Linear(36, 10))
    with dg.no_grad():
        uncertain[1].weight.mul_(1e-4)             # p(y|x) ≈ p(y): no confident class
    mean, std = _score(uncertain, noise, 10)
    assert mean == pytest.approx(1.0, abs=1e-4) and std < 1e-4
    K = 7                                           # each image one sure class, all K equally

    def confident(x):
        labels = np.arange(x.shape[0]) % K
        return dg.from_numpy(np.where(np.eye(K)[labels] > 0, 50.0, -50.0))
    mean, std = _score(confident, np.zeros((70 * K, 2), np.float32), 10)
    assert mean == pytest.approx(K, rel=1e-9) and std < 1e-9


def _score(clf, x, splits):
    s = InceptionScore(clf, splits=splits)
    s.update(x)
    return s.compute()


def test_inception_score_errors():
    clf = nn.Sequential(nn.Flatten(), nn.Linear(36, 3))
    s = InceptionScore(clf, splits=10, input_shape=(1, 6, 6))
    s.update(np.zeros((4, 1, 6, 6), np.float32))
    with pytest.raises(ValueError, match=r"needs at least splits=10 images"):
        s.compute()
    with pytest.raises(ValueError, match=r"InceptionScore.update: images must have shape"):
        s.update(np.zeros((4, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"splits must be a positive integer"):
        InceptionScore(clf, splits=0)
    with pytest.raises(ValueError, match=r"\(N, K\) class scores"):
        _score(lambda x: dg.zeros(x.shape[0]), np.zeros((10, 2), np.float32), 2)
    with pytest.raises(ValueError, match=r"sum to 1"):
        s2 = InceptionScore(lambda x: dg.ones(x.shape[0], 3), splits=1, probabilities=True)
        s2.update(np.zeros((3, 2), np.float32))


def test_the_feature_classifier_loads_from_its_cache_folder(tmp_path, monkeypatch):
    """The default FID/IS network is read from $DELTAGRAD_CACHE (never downloaded); a file
    that does not fit is a named error."""
    import json

    from deltagrad.metrics import feature_network as fn
    monkeypatch.setenv("DELTAGRAD_CACHE", str(tmp_path))
    assert fn.cache_dir() == str(tmp_path) and fn.cached_accuracy() is None
    dg.manual_seed(3)
    model = fn.FashionMNISTClassifier()
    np.savez(tmp_path / fn.CACHE_FILE, meta=np.array(json.dumps({"test_accuracy": 0.5})),
             **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    loaded = fn.fashion_mnist_classifier(stream=None)
    assert not loaded.training and fn.cached_accuracy() == 0.5
    x = dg.from_numpy(np.random.default_rng(0).uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32))
    with dg.no_grad():
        np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
        assert tuple(loaded.features(x.reshape(3, 784)).shape) == (3, 128)
    fid = FrechetInceptionDistance()            # the cached network by default
    assert fid.input_shape == (1, 28, 28)
    with pytest.raises(ValueError, match=r"images must have shape \(N, 1, 28, 28\)"):
        fid.update(np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"FashionMNISTClassifier: x must have shape"):
        loaded(dg.zeros(2, 64))
    np.savez(tmp_path / fn.CACHE_FILE, meta=np.array("{}"),
             w=np.zeros(3))
    with pytest.raises(RuntimeError, match="does not hold a FashionMNISTClassifier"):
        fn.fashion_mnist_classifier(stream=None)
