"""The compiled cells (kernels/numba_cells.py) against the NumPy reference cells, and the
rational tanh they use against float64 tanh."""
import re

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.kernels import rational_tanh
from deltagrad.ops.recurrent import recurrent_sequence

pytest.importorskip("numba")
from deltagrad.kernels import numba_cells  # noqa: E402

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ----------------------------------------------------------------------------- rational tanh
def _float32_ulp(t):
    """The float32 spacing at |t| (of the binade t lies in), from float64 values."""
    _, e = np.frexp(np.abs(t))
    return np.maximum(np.ldexp(1.0, e - 24), 2.0 ** -149)


def _dense_float32_grid():
    """Every 613th float32 from 0 to +inf (both signs; 7·10⁶ values, about 3,000 in every
    binade), plus chosen points."""
    bits = np.arange(0, np.float32(np.inf).view(np.int32), 613, dtype=np.int32)
    pos = bits.view(np.float32)
    extra = np.array([0.0, 1e-45, 1e-38, 1e-20, 1e-4, 0.5, 1.0, 8.99, 9.0, 9.01, 20.0, 1e4,
                      3.4e38, np.inf], np.float32)
    pos = np.concatenate([pos, extra])
    return np.concatenate([pos, -pos])


def test_tanh_float32_is_within_five_ulp_everywhere():
    """Float32 arithmetic (the cells'): 4.61 ulp at worst on this grid."""
    x = _dense_float32_grid()
    y = np.empty_like(x)
    numba_cells.tanh_float32(x, y)
    t = np.tanh(x.astype(np.float64))
    ulps = np.abs(y.astype(np.float64) - t) / _float32_ulp(t)
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= 5.0, f"{ulps[worst]:.3f} ulp at x = {x[worst]!r}"
    # exact saturation, odd symmetry, exact identity for tiny x, signed zeros
    big = np.abs(x) >= 9.0
    assert np.array_equal(y[big], np.sign(x[big]))
    assert np.array_equal(y[x.size // 2:], -y[:x.size // 2])
    tiny = np.abs(x) < 1e-6
    assert np.array_equal(y[tiny], x[tiny])
    assert np.signbit(y[x == 0]).tolist() == np.signbit(x[x == 0]).tolist()


def test_tanh_float32_special_values():
    x = np.array([np.nan, -np.nan, np.inf, -np.inf, 1e4, -1e4, 3.4e38, -3.4e38], np.float32)
    y = np.empty_like(x)
    numba_cells.tanh_float32(x, y)
    assert np.isnan(y[:2]).all()
    np.testing.assert_array_equal(y[2:], [1, -1, 1, -1, 1, -1])


def test_tanh_float32_matches_the_numpy_form_of_the_same_formula():
    """The same float32 Horner steps; the compiled ones fuse multiply-adds, so a few results
    round differently (each within its own error bound of tanh)."""
    x = np.linspace(-12, 12, 300_000, dtype=np.float32).reshape(3, -1)
    y = np.empty_like(x)
    numba_cells.tanh_float32(x, y)
    ref = rational_tanh.rational_tanh(x)
    assert ref.dtype == np.float32
    t = np.tanh(x.astype(np.float64))
    ulp = _float32_ulp(t)
    assert (np.abs(ref - t) / ulp).max() <= 5.5  # 5.31 seen
    assert (np.abs(y.astype(np.float64) - ref) / ulp).max() <= 6.0  # 6 seen near |x| = 7
    np.testing.assert_array_equal(rational_tanh.rational_tanh(x.astype(np.float64)) == 0,
                                  x == 0)  # float64 input: evaluated in float64


def test_coefficients_are_the_fit_derived_here():
    p, q, worst = rational_tanh.derive_coefficients()
    np.testing.assert_allclose(p, rational_tanh.P, rtol=1e-6)
    np.testing.assert_allclose(q, rational_tanh.Q, rtol=1e-6)
    assert worst < 1e-8  # relative, on [0, 9]: well below half a float32 ulp (3e-8)


# ----------------------------------------------------------------------------- whole layers
def _run(mode, backend, dtype, reverse, masked, seed, T=7, B=5, I=3, H=6):
    """Outputs, final states and every gradient of one recurrent layer under ``backend``.
    The data are float32 numbers whatever ``dtype``, so a float64 run gives the exact answer
    for the float32 problem."""
    rng = np.random.default_rng(seed)
    G = GATES[mode]

    def data(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32).astype(dtype)

    def mk(*shape, scale=0.8):
        return dg.tensor(data(*shape, scale=scale), requires_grad=True)
    x, h0, c0 = mk(T, B, I), mk(B, H), mk(B, H)
    params = [mk(G * H, I, scale=0.6), mk(G * H, H, scale=0.6), mk(G * H), mk(G * H)]
    mask = None
    if masked:  # lengths varying per row (one full, some possibly 0), as packing gives
        lengths = rng.integers(0, T + 1, B)
        lengths[0] = T
        mask = dg.tensor((np.arange(T)[:, None] < lengths[None, :]).astype(dtype))
    hx = (h0, c0) if mode == "LSTM" else h0
    with kernels.use_backend(backend):
        outs = recurrent_sequence(mode, x, hx, *params, reverse=reverse, mask=mask)
        weights = [dg.tensor(data(*o.shape)) for o in outs]
        loss = sum((o * w).sum() for o, w in zip(outs, weights))
        loss.backward()
    leaves = [x, h0] + ([c0] if mode == "LSTM" else []) + params
    return [o.detach().numpy() for o in outs] + [v.grad.numpy() for v in leaves]


@pytest.mark.parametrize("mode", list(GATES))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_float32_layers_agree_to_round_off(mode, reverse, masked):
    """Against the exact answer (float64 on the same float32 numbers) both float32 paths are
    off by float32 round-off amplified along 7 steps: under 4e-6 of the scale for each (the
    worst case seen over these problems: NumPy 1.2e-6, Numba 2.0e-6)."""
    for seed in range(3):
        exact = _run(mode, "numpy", np.float64, reverse, masked, seed)
        ref = _run(mode, "numpy", np.float32, reverse, masked, seed)
        got = _run(mode, "numba", np.float32, reverse, masked, seed)
        for k, (a, b, e) in enumerate(zip(got, ref, exact)):
            assert a.dtype == b.dtype == np.float32
            scale = max(1.0, np.abs(e).max())
            err_numba = np.abs(a - e).max() / scale
            err_numpy = np.abs(b - e).max() / scale
            assert max(err_numba, err_numpy) < 4e-6, \
                f"{mode} output/gradient #{k}: Numba {err_numba:.2e}, NumPy {err_numpy:.2e}"


@pytest.mark.parametrize("mode", list(GATES))
@pytest.mark.parametrize("masked", [False, True])
def test_float64_layers_agree_to_float64_round_off(mode, masked):
    ref = _run(mode, "numpy", np.float64, True, masked, 11)
    got = _run(mode, "numba", np.float64, True, masked, 11)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_saturated_gates_and_nan_inputs_behave_like_numpy():
    """Pre-activations of ±40 saturate the gates to exactly 0/1 in both paths; a NaN in the
    input reaches the outputs it should and no others."""
    for mode in GATES:
        rng = np.random.default_rng(5)
        G = GATES[mode]
        x = (rng.standard_normal((4, 2, 3)) * 40).astype(np.float32)
        x[2, 1, 0] = np.nan
        w = [rng.standard_normal(s).astype(np.float32) for s in ((G * 5, 3), (G * 5, 5))]
        h0 = np.zeros((2, 5), np.float32)
        hx = (dg.tensor(h0), dg.tensor(h0)) if mode == "LSTM" else dg.tensor(h0)
        res = []
        for backend in ("numpy", "numba"):
            with kernels.use_backend(backend):
                out = recurrent_sequence(mode, dg.tensor(x), hx, dg.tensor(w[0]),
                                         dg.tensor(w[1]))[0].numpy()
            res.append(out)
        np.testing.assert_array_equal(np.isnan(res[1]), np.isnan(res[0]))
        assert np.isnan(res[0][2:, 1]).all() and not np.isnan(res[0][:, 0]).any()
        ok = ~np.isnan(res[0])
        # float32 round-off of the products (the compiled loop's may sum in another order:
        # numba_gemm) on outputs up to ~300 (the ReLU RNN's)
        np.testing.assert_allclose(res[1][ok], res[0][ok], rtol=1e-6, atol=2e-6)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_cells_are_freed_with_the_graph_without_the_garbage_collector(backend, monkeypatch):
    """No reference cycle through a cell: its (T, G·H, B) caches go as soon as the backward
    has run, not at the garbage collector's next pass (a cycle made the LSTM benchmark's
    memory grow by ~8 MB a step)."""
    import gc
    import weakref
    from deltagrad.ops import recurrent
    made = []

    def make_cell(*args):
        cell = original(*args)
        made.append(weakref.ref(cell))
        return cell
    original = recurrent._make_cell
    monkeypatch.setattr(recurrent, "_make_cell", make_cell)
    gc.disable()
    try:
        for mode in GATES:
            _run(mode, backend, np.float32, False, True, 0)
        assert made and all(ref() is None for ref in made)
    finally:
        gc.enable()


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-15), (np.float32, 3e-7)])
def test_forward_kernels_compute_the_cell_formulas(dtype, tol):
    """The forward kernels on their own (the float64 cells keep NumPy's forward step, so the
    float64 kernels are checked here): σ(a) = 1/(1 + e^(−a)) on the unscaled pre-activations."""
    rng = np.random.default_rng(2)
    H, B = 5, 3
    a = lambda *s: (rng.standard_normal(s) * 2).astype(dtype)  # noqa: E731
    empty = lambda *s: np.empty(s, dtype)  # noqa: E731
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    ax, gh, c_prev = a(4 * H, B), a(4 * H, B), a(H, B)
    act, c, tc, h = empty(4 * H, B), empty(H, B), empty(H, B), empty(H, B)
    numba_cells.lstm_forward(ax, gh, c_prev, act, c, tc, h, H * B)
    pre = ax.astype(np.float64) + gh
    i, f, g, o = sig(pre[:H]), sig(pre[H:2 * H]), np.tanh(pre[2 * H:3 * H]), sig(pre[3 * H:])
    c_ref = f * c_prev + i * g
    for got, want in ((act, np.concatenate([i, f, g, o])), (c, c_ref), (tc, np.tanh(c_ref)),
                      (h, o * np.tanh(c_ref))):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    ax, gh, h_prev = a(3 * H, B), a(3 * H, B), a(H, B)
    rz, n, ghn = empty(2 * H, B), empty(H, B), empty(H, B)
    numba_cells.gru_forward(ax, gh, h_prev, rz, n, ghn, h, H * B)
    pre = ax.astype(np.float64) + gh
    r, z = sig(pre[:H]), sig(pre[H:2 * H])
    n_ref = np.tanh(ax[2 * H:].astype(np.float64) + r * gh[2 * H:])
    for got, want in ((rz, np.concatenate([r, z])), (n, n_ref), (ghn, gh[2 * H:]),
                      (h, n_ref + z * (h_prev - n_ref))):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    for relu, phi in ((False, np.tanh), (True, lambda v: np.maximum(v, 0))):
        ax, gh = a(H, B), a(H, B)
        numba_cells.rnn_forward(ax, gh, h, relu)
        np.testing.assert_allclose(h, phi(ax.astype(np.float64) + gh), rtol=tol, atol=tol)


@pytest.mark.skipif(__import__("platform").machine() not in ("x86_64", "AMD64"),
                    reason="reads x86 assembly")
def test_tanh_and_lstm_loops_are_vectorised():
    """The rational tanh compiles to packed (SIMD) divisions, not one libm call per element:
    the reason it exists (np.tanh inside the loop would be a scalar call without SVML)."""
    from numba import njit
    options = dict(numba_cells.OPTIONS, cache=False)  # cached code cannot be inspected
    x = np.zeros(64, np.float32)
    tanh = njit(**options)(numba_cells.tanh_float32.py_func)
    tanh(x, np.empty_like(x))
    asm = tanh.inspect_asm(tanh.signatures[0])
    assert re.search(r"\bv?divps\b", asm), "no packed division in tanh_float32"
    a, b = np.zeros((8, 4), np.float32), np.zeros((2, 4), np.float32)
    lstm = njit(**options)(numba_cells.lstm_forward.py_func)
    lstm(a, a, b, a, b, b, b, 8)
    asm = lstm.inspect_asm(lstm.signatures[0])
    assert re.search(r"\bv?divps\b", asm)
    assert not re.search(r"\$tanhf?\b", asm), "lstm_forward calls libm's tanh"


def test_no_kernel_gets_overlapping_arrays(monkeypatch):
    """An output that overlaps an input defeats LLVM's run-time alias check and the loop
    runs unvectorised (the LSTM backward once wrote ∂L/∂c in place: 4× slower)."""
    overlaps = []
    for name in ("lstm_forward", "lstm_backward", "gru_forward", "gru_backward",
                 "rnn_forward", "rnn_backward"):
        kernel = getattr(numba_cells, name)

        def checked(*args, kernel=kernel, name=name):
            arrays = [a for a in args if isinstance(a, np.ndarray)]
            overlaps.extend(name for i, a in enumerate(arrays) for b in arrays[i + 1:]
                            if np.shares_memory(a, b))
            return kernel(*args)
        monkeypatch.setattr(numba_cells, name, checked)
    for mode in GATES:
        for masked in (False, True):
            _run(mode, "numba", np.float32, False, masked, 0)
    assert overlaps == []


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_float32_layers_are_as_close_to_exact_as_pytorchs(mode):
    """The float32 cells compute in float32 with a tanh within 5 ulp; over 20 steps the
    outputs stay as close to the exact ones (float64, the same float32 numbers) as PyTorch's
    own float32 layer's, within half of it (seen: LSTM 1.4e-6 against PyTorch's 1.9e-6 of
    the scale; on an AMD EPYC, where MKL rounds the products differently, GRU 4.2e-6 alone
    and 4.9e-6 in the whole suite against 3.8e-6)."""
    torch = pytest.importorskip("torch")
    T, B, I, H = 20, 16, 8, 32
    G = GATES[mode]
    errors = {"deltagrad": 0.0, "torch": 0.0}
    for seed in range(6):
        rng = np.random.default_rng(seed)
        data = [(rng.standard_normal(s) * 0.8).astype(np.float32)
                for s in ((T, B, I), (B, H), (B, H))]
        params = [(rng.standard_normal(s) * 0.6).astype(np.float32)
                  for s in ((G * H, I), (G * H, H), (G * H,), (G * H,))]
        layer = getattr(torch.nn, mode)(I, H)
        with torch.no_grad():
            for p, v in zip(layer.parameters(), params):
                p.copy_(torch.from_numpy(v))
        hx = tuple(torch.from_numpy(v)[None] for v in data[1:1 + (mode == "LSTM") + 1])
        hx = hx if mode == "LSTM" else hx[0]
        with torch.no_grad():
            ours = recurrent_sequence(mode, dg.from_numpy(data[0]), tuple(
                dg.from_numpy(v) for v in data[1:1 + (mode == "LSTM") + 1]) if mode == "LSTM"
                else dg.from_numpy(data[1]), *[dg.from_numpy(p) for p in params])[0].numpy()
            theirs = layer(torch.from_numpy(data[0]), hx)[0].numpy()
            layer.double()
            exact = layer(torch.from_numpy(data[0]).double(),
                          tuple(h.double() for h in hx) if mode == "LSTM" else hx.double()
                          )[0].numpy()
        scale = max(1.0, np.abs(exact).max())
        errors["deltagrad"] = max(errors["deltagrad"], np.abs(ours - exact).max() / scale)
        errors["torch"] = max(errors["torch"], np.abs(theirs - exact).max() / scale)
    assert errors["deltagrad"] <= 1.5 * errors["torch"], errors
