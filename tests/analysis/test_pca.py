"""``dg.analysis.pca`` against scikit-learn's PCA (up to sign), ``principal_angles`` against
scipy.linalg.subspace_angles and hand-made subspaces, and the latent-space helpers."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.analysis import pca, principal_angles


def _data(n=60, p=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + rng.normal(size=p)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_pca_equals_scikit_learn_up_to_sign(k):
    from sklearn.decomposition import PCA
    X = _data()
    ours, ref = pca(X, k), PCA(n_components=k, svd_solver="full").fit(X)
    assert ours.components_.shape == (k, 7)
    signs = np.sign((ours.components_ * ref.components_).sum(1))
    assert np.all(signs != 0)
    np.testing.assert_allclose(ours.components_ * signs[:, None], ref.components_, atol=1e-10)
    for name in ("explained_variance_", "explained_variance_ratio_", "singular_values_",
                 "mean_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-10)
    np.testing.assert_allclose(np.abs(ours.transform(X)), np.abs(ref.transform(X)),
                               atol=1e-9)
    Z = ours.transform(X)
    np.testing.assert_allclose(ours.inverse_transform(Z), ref.inverse_transform(ref.transform(X)),
                               atol=1e-9)


def test_pca_of_a_worked_example():
    # points on the line y = x: one component along (1, 1)/√2 with all the variance
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    r = pca(dg.tensor(X), 1)
    np.testing.assert_allclose(r.components_, [[2 ** -0.5, 2 ** -0.5]], atol=1e-15)
    np.testing.assert_allclose(r.explained_variance_, [2 * 5 / 3])   # var(x)+var(y) = 2·5/3
    np.testing.assert_allclose(r.explained_variance_ratio_, [1.0])
    np.testing.assert_allclose(r.mean_, [1.5, 1.5])
    np.testing.assert_allclose(r.transform([[1.5, 1.5], [2.5, 2.5]]), [[0.0], [2 ** 0.5]],
                               atol=1e-15)


def test_principal_angles_equal_scipy():
    from scipy.linalg import subspace_angles
    rng = np.random.default_rng(1)
    for p, q in [(3, 2), (2, 3), (4, 4), (1, 1)]:
        A, B = rng.normal(size=(9, p)), rng.normal(size=(9, q))
        np.testing.assert_allclose(principal_angles(A, B), np.sort(subspace_angles(A, B)),
                                   atol=1e-12)


def test_principal_angles_by_hand():
    e = np.eye(3)
    np.testing.assert_allclose(principal_angles(e[:, :2], e[:, 1:]), [0, np.pi / 2],
                               atol=1e-15)
    theta = 1e-7                                             # a tiny angle survives
    B = np.array([[np.cos(theta)], [np.sin(theta)], [0.0]])
    np.testing.assert_allclose(principal_angles(e[:, :1], B), [theta], rtol=1e-8)
    # the span, not the basis: scaled and mixed columns give zero angles
    A = np.random.default_rng(2).normal(size=(5, 2))
    np.testing.assert_allclose(principal_angles(A, A @ [[2.0, 1.0], [0.5, -3.0]]), [0, 0],
                               atol=1e-7)


def test_bad_inputs_raise_named_errors():
    X = _data()
    with pytest.raises(ValueError, match=r"pca: k must be an int in \[1, "):
        pca(X, 0)
    with pytest.raises(ValueError, match="pca: k must be"):
        pca(X, 8)
    with pytest.raises(ValueError, match="2-D"):
        pca(X[0], 1)
    with pytest.raises(ValueError, match="NaN or inf"):
        pca(np.full((3, 2), np.nan), 1)
    with pytest.raises(ValueError, match="same number of rows"):
        principal_angles(np.ones((3, 1)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="spans no subspace"):
        principal_angles(np.zeros((3, 1)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="expected X with 7 features"):
        pca(X, 2).transform(X[:, :3])


def test_latent_helpers_shapes_and_pictures():
    A = dg.analysis
    rng = np.random.default_rng(0)
    x = (rng.random((40, 16)) < 0.4).astype(np.float32)
    y = rng.integers(0, 3, 40)
    ae = dg.models.Autoencoder([16, 2])
    vae = dg.models.VAE(16, [8], 2)
    codes = A.encode_dataset(ae, x, batch_size=7)
    with dg.no_grad():
        np.testing.assert_allclose(codes, ae.encode(x).numpy(), rtol=1e-6)
        np.testing.assert_allclose(A.encode_dataset(vae, x), vae.encode(x)[0].numpy(),
                                   rtol=1e-6)
    grid = A.latent_grid(4)
    assert grid.shape == (16, 2) and grid[0, 1] > grid[-1, 1] and grid[0, 0] < grid[1, 0]
    g2 = A.latent_grid(3, codes)
    assert codes[:, 0].min() <= g2[:, 0].min() and g2[:, 0].max() <= codes[:, 0].max()
    assert A.decoder_grid(vae, 3).shape == (9, 16)
    strip = A.interpolation_strip(vae, x[0], x[1], 5)
    np.testing.assert_allclose(strip[[0, -1]], vae.interpolate(x[0], x[1], 2).numpy(),
                               rtol=1e-6)
    mean, cov = A.fit_code_gaussian(codes)
    np.testing.assert_allclose(mean, codes.mean(0), rtol=1e-6)
    np.testing.assert_allclose(cov, np.cov(codes.T), rtol=1e-6)
    assert A.gaussian_code_samples(ae, codes, 5).shape == (5, 16)
    for png in (A.latent_scatter_png(codes, y, ["a", "b", "c"]),
                A.latent_scatter_png(rng.normal(size=(40, 4)), y),
                A.decoder_grid_png(ae, 3, codes), A.interpolation_png(vae, [(x[0], x[1])], 4),
                A.ae_vs_vae_samples_png(ae, codes, vae, 9),
                A.image_grid_png(x[:6].reshape(6, 4, 4), ncol=3)):
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="codes must be \\(N, 2\\)"):
        A.latent_grid(3, np.zeros((5, 3)))
