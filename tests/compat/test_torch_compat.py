"""deltagrad.torch_compat: which torch spellings resolve to which deltagrad objects, the
errors for what deltagrad lacks, writes through aliases, and a clean uninstall."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import deltagrad as dg
from deltagrad.torch_compat import resolve, torch_is_deltagrad


def test_imports_resolve_to_deltagrad_objects():
    with torch_is_deltagrad():
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import torch.backends.cudnn as cudnn
        from torch.utils.data import DataLoader, Dataset
        from torch.optim.lr_scheduler import StepLR
        from torch.nn.modules.batchnorm import BatchNorm2d
        from torch.nn.modules.container import Sequential
        from torch.nn.parameter import Parameter
        from torch.cuda.amp import GradScaler, autocast
        from torch.distributions.normal import Normal
        from torch.utils.data.distributed import DistributedSampler
        from torch.serialization import add_safe_globals
        from torch.autograd import Variable
        import torch.optim as optim
        assert torch.Tensor is dg.Tensor and torch.float32 is dg.float32
        assert nn.Linear is dg.nn.Linear and F.relu is dg.nn.functional.relu
        assert DataLoader is dg.utils.data.DataLoader and Dataset is dg.utils.data.Dataset
        assert StepLR is dg.optim.lr_scheduler.StepLR and optim.Adam is dg.optim.Adam
        assert BatchNorm2d is dg.nn.BatchNorm2d and Sequential is dg.nn.Sequential
        assert Parameter is dg.nn.Parameter and Normal is dg.distributions.Normal
        assert DistributedSampler is dg.utils.data.DistributedSampler
        assert add_safe_globals is dg.serialization.add_safe_globals
        assert Variable is dg.autograd.Variable
        assert GradScaler is dg.cuda.amp.GradScaler and autocast is dg.cuda.amp.autocast
        assert torch.cuda.is_available is dg.cuda.is_available
        assert torch.spmm is dg.spmm and torch.sparse.mm is dg.sparse.mm
        assert cudnn.is_available() is False
        assert torch.utils.data.get_worker_info() is None  # loading in this process
        assert torch.version.cuda is None and torch.random.manual_seed is dg.manual_seed
        assert torch.nn.init.xavier_uniform_ is dg.nn.init.xavier_uniform_
        assert repr(torch.nn) == "<module 'torch.nn' (deltagrad: 'deltagrad.nn')>"


def test_optimizer_and_layer_submodules_under_their_torch_file_names():
    """``from torch.optim.radam import RAdam``: each torch file name reaches the deltagrad
    module that holds the class."""
    with torch_is_deltagrad():
        from torch.optim.adadelta import Adadelta
        from torch.optim.adagrad import Adagrad
        from torch.optim.adamax import Adamax
        from torch.optim.adamw import AdamW
        from torch.optim.nadam import NAdam
        from torch.optim.radam import RAdam
        from torch.optim.rmsprop import RMSprop
        from torch.nn.modules.upsampling import Upsample
    assert (Adadelta, Adagrad, Adamax, AdamW) == (dg.optim.Adadelta, dg.optim.Adagrad,
                                                  dg.optim.Adamax, dg.optim.AdamW)
    assert (NAdam, RAdam, RMSprop) == (dg.optim.NAdam, dg.optim.RAdam, dg.optim.RMSprop)
    assert Upsample is dg.nn.Upsample


def test_missing_names_raise_naming_the_torch_spelling():
    with torch_is_deltagrad():
        import torch
        with pytest.raises(AttributeError, match="^torch.compile is not supported by deltagrad$"):
            torch.compile
        with pytest.raises(AttributeError, match="torch.nn.functional.no_such_op is not sup"):
            torch.nn.functional.no_such_op
        assert not hasattr(torch, "jit")
        for name in ("torch.fft", "torch.jit", "torch.ops.aten", "torch.nn.utils.prune",
                     "torch.nn.modules.lazy", "torch.datasets"):
            with pytest.raises(ModuleNotFoundError, match=f"^{name} is not supported by "
                               "deltagrad$"):
                importlib.import_module(name)
        with pytest.raises(ImportError, match="torch.utils.checkpoint is not supported"):
            from torch.utils import checkpoint  # noqa: F401


def test_flag_writes_reach_deltagrad_and_aliases_leave_deltagrad_untouched():
    old = dg.backends.cudnn.benchmark
    try:
        with torch_is_deltagrad():
            import torch
            import torch.backends.cudnn as cudnn
            cudnn.benchmark = True
            assert dg.backends.cudnn.benchmark is True and torch.backends.cudnn.benchmark
            import torch.nn.functional  # noqa: F401  (sets torch.nn.functional on the alias)
        assert type(dg.nn) is type(sys)  # deltagrad's own module, not an alias
        assert dg.nn.functional.__name__ == "deltagrad.nn.functional"
    finally:
        dg.backends.cudnn.benchmark = old


def test_the_real_torch_comes_back_after_the_block():
    torch = pytest.importorskip("torch")
    with torch_is_deltagrad():
        import torch as inner
        assert inner.Tensor is dg.Tensor
    import torch as after
    assert after is torch and after.Tensor is not dg.Tensor


def test_resolve_refuses_other_names():
    with pytest.raises(ValueError, match="expected a torch module name"):
        resolve("numpy")
    assert resolve("torch.optim") is dg.optim


def test_cli_usage_and_missing_script():
    def run(*args):
        return subprocess.run([sys.executable, "-m", "deltagrad", "run-torch", *args],
                              capture_output=True, text=True, timeout=60)
    r = run()
    assert r.returncode == 2 and "usage: deltagrad run-torch script.py" in r.stderr
    r = run("no_such_script.py")
    assert r.returncode == 2 and "no such script: 'no_such_script.py'" in r.stderr


def test_script_sees_its_argv_and_main(tmp_path):
    script = tmp_path / "echo.py"
    script.write_text("import sys, torch\nprint(__name__, sys.argv[1:], torch.tensor([1.5]).sum()"
                      ".item(), torch.__name__)\n")
    r = subprocess.run([sys.executable, "-m", "deltagrad.torch_compat", str(script), "--lr",
                        "3", "-h"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "__main__ ['--lr', '3', '-h'] 1.5 torch"


def test_torch_nn_modules_reached_as_attributes_and_in_safe_globals(tmp_path):
    """word_language_model lists ``torch.nn.modules.<file>.<Class>`` in safe_globals without
    importing those submodules; a pickled whole model then loads with weights_only=True."""
    import torch as real_torch
    assert issubclass(real_torch.nn.modules.linear.NonDynamicallyQuantizableLinear,
                      real_torch.nn.Linear)
    with torch_is_deltagrad():
        import torch
        names = torch.nn.modules
        assert names.activation.MultiheadAttention is dg.nn.MultiheadAttention
        assert names.activation.ReLU is dg.nn.ReLU
        assert names.sparse.Embedding is dg.nn.Embedding and names.rnn.LSTM is dg.nn.LSTM
        assert names.container.ModuleList is dg.nn.ModuleList
        assert issubclass(names.linear.NonDynamicallyQuantizableLinear, dg.nn.Linear)
        with pytest.raises(AttributeError, match="torch.nn.modules.nosuch is not supported"):
            names.nosuch
        model = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 2))
        torch.save(model, tmp_path / "model.pt")
        with pytest.raises(dg.serialization.UnpicklingError, match="weights_only"):
            torch.load(tmp_path / "model.pt")
        with torch.serialization.safe_globals([names.container.Sequential,
                                               names.sparse.Embedding, names.linear.Linear]):
            loaded = torch.load(tmp_path / "model.pt")
        x = torch.tensor([[0, 4]])
        assert torch.equal(loaded(x), model(x))
