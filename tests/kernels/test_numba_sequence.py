"""The compiled time loop (kernels/numba_sequence.py) against the Python loop of
ops/recurrent.py: the same cell kernels, the products in MKL or in kernels/numba_gemm.py, so
the same numbers to float32 round-off, in every recurrent mode, direction and thread count;
and which loop a layer takes."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.kernels import blas
from deltagrad.ops import recurrent

pytest.importorskip("numba")
if not blas.mkl_available():
    pytest.skip("the compiled loop calls MKL (the mkl extra)", allow_module_level=True)

LAYERS = {"LSTM": dg.nn.LSTM, "GRU": dg.nn.GRU, "RNN_TANH": dg.nn.RNN, "RNN_RELU": dg.nn.RNN}


def _layer(mode, bidirectional, bias, num_layers=2):
    kw = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
    dg.manual_seed(0)
    return LAYERS[mode](5, 7, num_layers=num_layers, bias=bias, bidirectional=bidirectional,
                        batch_first=True, **kw)


def _assert_same_numbers(a, b):
    """The compiled loop against the Python one: float32 round-off apart (its per-step
    products are numba_gemm's on an AVX-512 processor, MKL's packed ones elsewhere, each
    summing in its own order)."""
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * max(1.0, float(np.abs(b).max())))


def _run(layer, python_loop, monkeypatch, steps=6, batch=3):
    """Outputs, final states and every gradient of one forward and backward."""
    with monkeypatch.context() as m:
        if python_loop:
            m.setattr(recurrent, "_compiled_loop", lambda cell, mask: None)
        rng = np.random.default_rng(1)
        x = dg.from_numpy(rng.standard_normal((batch, steps, 5), dtype=np.float32)).requires_grad_()
        layer.zero_grad()
        out, state = layer(x)
        states = state if isinstance(state, tuple) else (state,)
        loss = (out * dg.from_numpy(rng.standard_normal(out.shape, dtype=np.float32))).sum()
        for s in states:
            loss = loss + (s * s).sum()
        loss.backward()
        return [a.detach().numpy().copy() for a in (out, *states, x.grad)] + \
            [p.grad.numpy().copy() for p in layer.parameters()]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("mode", list(LAYERS))
@pytest.mark.parametrize("steps", [6, 19])  # one chunk of δ blocks; two whole and a partial
# batch 16 at 2 threads: two parts of 8 columns, each on its own thread (batch_parts)
@pytest.mark.parametrize("batch", [3, 16])
def test_compiled_loop_equals_python_loop(mode, bidirectional, bias, threads, steps, batch,
                                          monkeypatch):
    layer = _layer(mode, bidirectional, bias)
    with blas.use_blas("mkl"):
        before = dg.get_num_threads()
        dg.set_num_threads(threads)
        try:
            compiled = _run(layer, False, monkeypatch, steps, batch)
            python = _run(layer, True, monkeypatch, steps, batch)
        finally:
            dg.set_num_threads(before)
    for a, b in zip(compiled, python):
        _assert_same_numbers(a, b)


@pytest.mark.parametrize("threads, batch, parts", [
    (1, 32, 1), (2, 32, 2), (2, 16, 2), (2, 15, 1), (2, 14, 1), (3, 48, 3), (3, 32, 2),
    (4, 24, 3)])
def test_batch_parts(threads, batch, parts, monkeypatch):
    """P divides the batch with at least 8 columns a part, P ≤ the thread count."""
    import numba
    from deltagrad.kernels import numba_parallel, numba_sequence
    monkeypatch.setattr(numba_parallel, "use_threads", lambda elements: threads)
    assert numba_sequence.batch_parts(batch) == parts
    monkeypatch.setattr(numba_parallel, "usable", lambda: False)  # a forked child
    assert numba_sequence.batch_parts(batch) == 1
    assert numba.config.NUMBA_NUM_THREADS >= 1


def test_parts_run_on_threads(monkeypatch):
    """At 2 threads a batch of 32 runs as two parts, forward and backward, with the results
    of the one-part loop."""
    from deltagrad.kernels import numba_sequence
    if numba_sequence.numba_parallel.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba's pool has one thread")
    seen = []

    def spy(name, parts_at):  # records the part count (gh's, or dh's, first axis)
        run = getattr(numba_sequence, name)
        monkeypatch.setattr(numba_sequence, name,
                            lambda *a: seen.append((name, a[parts_at].shape[0])) or run(*a))

    spy("_forward_parts", 12)
    spy("_backward_parts", 4)
    layer = _layer("LSTM", False, True, num_layers=1)
    results = []
    with blas.use_blas("mkl"):
        before = dg.get_num_threads()
        try:
            for threads in (2, 1):
                dg.set_num_threads(threads)
                results.append(_run(layer, False, monkeypatch, 7, 32))
        finally:
            dg.set_num_threads(before)
    assert seen == [("_forward_parts", 2), ("_backward_parts", 2)]
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def _loops_taken(monkeypatch, fn):
    taken = []
    chosen = recurrent._compiled_loop

    def spy(cell, mask):
        loop = chosen(cell, mask)
        taken.append(loop is not None)
        return loop

    monkeypatch.setattr(recurrent, "_compiled_loop", spy)
    fn()
    return taken


def test_which_loop_runs(monkeypatch):
    lstm = dg.nn.LSTM(3, 4)
    x = dg.randn(5, 2, 3)
    with blas.use_blas("mkl"):
        assert _loops_taken(monkeypatch, lambda: lstm(x)) == [True]
        # float64: the Python loop (its forward cell is NumPy's)
        assert _loops_taken(monkeypatch, lambda: lstm.double()(x.double())) == [False]
        lstm.float()
        # variable lengths: the Python loop
        packed = dg.nn.utils.rnn.pack_padded_sequence(x, [5, 3])
        assert _loops_taken(monkeypatch, lambda: lstm(packed)) == [False]
    with blas.use_blas("numpy"):
        assert _loops_taken(monkeypatch, lambda: lstm(x)) == [False]


@pytest.mark.parametrize("layout", ["steps", "batch", "strided"])
def test_output_gradient_read_in_any_layout(layout, monkeypatch):
    """The compiled backward reads ∂L/∂y where it lies when it is (T, B, H) or a batch-first
    model's (B, T, H) in memory, and copies any other layout first: the numbers of the
    Python loop each way."""
    rng = np.random.default_rng(4)
    T, B, H = 11, 3, 7
    g = {"steps": rng.standard_normal((T, B, H), dtype=np.float32),
         "batch": np.ascontiguousarray(
             rng.standard_normal((T, B, H), dtype=np.float32).transpose(1, 0, 2)
         ).transpose(1, 0, 2),
         "strided": rng.standard_normal((T, 2 * B, H), dtype=np.float32)[:, ::2]}[layout]
    x = rng.standard_normal((T, B, 5), dtype=np.float32)
    from deltagrad.kernels import numba_sequence
    read = []  # (whether gy was read in place, whether as (B, T, H)) of each backward loop

    def spy(one, each, parts, args):
        if one is numba_sequence._backward_part:
            read.append((np.shares_memory(args[2], g), args[3]))
        return run(one, each, parts, args)

    run = numba_sequence._on_parts
    results = []
    for python_loop in (False, True):
        with monkeypatch.context() as m, blas.use_blas("mkl"):
            if python_loop:
                m.setattr(recurrent, "_compiled_loop", lambda cell, mask: None)
            else:
                m.setattr(numba_sequence, "_on_parts", spy)
            dg.manual_seed(0)
            layer = dg.nn.LSTM(5, H)
            xt = dg.from_numpy(x).requires_grad_()
            out, _ = layer(xt)
            out.backward(dg.from_numpy(g))
            results.append([xt.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()])
    assert read == [(layout != "strided", layout == "batch")]
    for a, b in zip(*results):
        _assert_same_numbers(a, b)


@pytest.mark.parametrize("mode, products", [("LSTM", 1), ("RNN_TANH", 1), ("GRU", 2)])
def test_weight_gradient_is_one_product_over_all_steps(mode, products, monkeypatch):
    """The compiled loop's [x_t | 1 | h_{t−1}] rows give [∂W_ih | ∂b | ∂W_hh] in one product
    (the GRU's two δ need two), the same numbers as the Python loop's."""
    calls = []
    over_steps = recurrent._over_steps
    monkeypatch.setattr(recurrent, "_over_steps",
                        lambda d, rows: calls.append(rows.shape) or over_steps(d, rows))
    layer = _layer(mode, False, True, num_layers=1)
    with blas.use_blas("mkl"):
        compiled = _run(layer, False, monkeypatch, 9, 16)
    assert len(calls) == products and calls[0][1] == 5 + 1 + (7 if products == 1 else 0)
    python = _run(layer, True, monkeypatch, 9, 16)
    for a, b in zip(compiled, python):
        _assert_same_numbers(a, b)


@pytest.mark.parametrize("own", [False, True])
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_RELU"])
def test_either_product_kernel_gives_the_python_loops_numbers(mode, own, monkeypatch):
    """The loop's per-step products in numba_gemm (AVX-512 processors) or in MKL's packed
    products: the Python loop's numbers either way, one part and two."""
    from deltagrad.kernels import numba_sequence
    monkeypatch.setattr(numba_sequence, "OWN_PRODUCTS", own)
    layer = _layer(mode, True, True)
    with blas.use_blas("mkl"):
        before = dg.get_num_threads()
        try:
            for threads in (1, 2):
                dg.set_num_threads(threads)
                compiled = _run(layer, False, monkeypatch, 19, 16)
                python = _run(layer, True, monkeypatch, 19, 16)
                for a, b in zip(compiled, python):
                    _assert_same_numbers(a, b)
        finally:
            dg.set_num_threads(before)
