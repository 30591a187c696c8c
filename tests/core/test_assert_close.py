"""dg.testing.assert_close (torch.testing.assert_close under run-torch): the same verdicts and
the same messages as PyTorch's on the same inputs (deltagrad.X where torch says torch.X)."""
import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.testing import assert_close
from tests.conftest import requires_torch

CASES = {
    "float32 one off": (lambda t: (t.tensor([1.0, 2.0, 3.0]), t.tensor([1.0, 2.5, 3.0])), {}),
    "python floats": (lambda t: (1.0, 1.5), {}),
    "shapes": (lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0, 3.0])), {}),
    "dtypes": (lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0], dtype=t.float64)), {}),
    "dtypes unchecked": (lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0],
                                                                   dtype=t.float64)),
                         {"check_dtype": False}),
    "integers": (lambda t: (t.tensor([[1, 2], [3, 4]]), t.tensor([[1, 2], [3, 5]])), {}),
    "a list": (lambda t: ([1.0, t.tensor(2.0)], [1.0, t.tensor(2.5)]), {}),
    "a dict": (lambda t: ({"a": t.tensor(1.0)}, {"a": t.tensor(1.5)}), {}),
    "nan": (lambda t: (t.tensor([math.nan, 1.0]), t.tensor([math.nan, 1.0])), {}),
    "nan equal": (lambda t: (t.tensor([math.nan, 1.0]), t.tensor([math.nan, 1.0])),
                  {"equal_nan": True}),
    "inf": (lambda t: (t.tensor([math.inf, 1.0]), t.tensor([math.inf, 1.0])), {}),
    "within tolerance": (lambda t: (t.tensor([1.0, 2.0], dtype=t.float64),
                                    t.tensor([1.0 + 1e-8, 2.0], dtype=t.float64)), {}),
    "given tolerance": (lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.1, 2.0])),
                        {"rtol": 0.0, "atol": 0.2}),
    "given tolerance too small": (lambda t: (t.tensor([[1.0, 2.0]]), t.tensor([[1.1, 2.5]])),
                                  {"rtol": 0.01, "atol": 0.01}),
    "custom message": (lambda t: (t.tensor([1.0]), t.tensor([2.0])), {"msg": "mine"}),
}


def _outcome(fn):
    try:
        fn()
    except (AssertionError, ValueError, TypeError) as e:
        return type(e).__name__, str(e)
    return "ok", ""


@requires_torch
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_verdict_and_message_as_torch(case):
    import torch
    import torch.testing
    make, kwargs = CASES[case]
    theirs = _outcome(lambda: torch.testing.assert_close(*make(torch), **kwargs))
    ours = _outcome(lambda: assert_close(*make(dg), **kwargs))
    assert ours == (theirs[0], theirs[1].replace("torch.", "deltagrad."))


@requires_torch
def test_argument_errors_match_torch():
    import torch
    import torch.testing
    for kwargs in ({"rtol": 1e-3}, {"atol": 1e-3}):
        theirs = _outcome(lambda: torch.testing.assert_close(torch.ones(1), torch.ones(1),
                                                             **kwargs))
        assert _outcome(lambda: assert_close(dg.ones(1), dg.ones(1), **kwargs)) == theirs
    theirs = _outcome(lambda: torch.testing.assert_close(torch.ones(1), 1.0))
    ours = _outcome(lambda: assert_close(dg.ones(1), 1.0))
    assert ours[0] == theirs[0] == "TypeError"
    assert "No comparison pair was able to handle inputs of type" in ours[1]


def test_worked_example_message():
    with pytest.raises(AssertionError) as info:
        assert_close(dg.tensor(np.array([0.0, 1.0, 4.0])), dg.tensor(np.array([0.0, 1.0, 2.0])))
    assert str(info.value).splitlines() == [
        "Tensor-likes are not close!", "",
        "Mismatched elements: 1 / 3 (33.3%)",
        "Greatest absolute difference: 2.0 at index (2,) (up to 1e-07 allowed)",
        "Greatest relative difference: 1.0 at index (2,) (up to 1e-07 allowed)"]


def test_torch_testing_is_deltagrads_under_run_torch():
    from deltagrad.torch_compat import torch_is_deltagrad
    with torch_is_deltagrad():
        import torch.testing
        assert torch.testing.assert_close is assert_close
        from torch.testing import assert_close as imported
        assert imported is assert_close
