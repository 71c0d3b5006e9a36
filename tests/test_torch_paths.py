"""``import autograd_core as torch`` is enough: PyTorch's module paths reach the very same modules.

Each import order runs in a fresh interpreter (which module is imported first decides which
import cycles could bite), so the checks below are made in subprocesses.
"""

import subprocess
import sys

import pytest

import autograd_core as ag

CHECK = r"""
import sys, importlib
{first}
import autograd_core as torch
import autograd_core.nn as tnn
import autograd_core.nn.functional as TF
import autograd_core.nn.init, autograd_core.nn.utils
import autograd_core.optim as toptim
import autograd_core.optim.lr_scheduler as tsched
from autograd_core.utils.data import DataLoader, TensorDataset
from autograd_core import nn as nn2, optim as optim2
import nn, optim, nn.functional as F, optim.lr_scheduler
from autograd_core import data
import autograd_core.nn.parallel, nn.parallel
pairs = [(torch.nn.parallel, nn.parallel), (torch.distributed, sys.modules["autograd_core.distributed"]),
         (tnn, nn), (nn2, nn), (torch.nn, nn), (TF, F), (torch.nn.functional, F), (torch.nn.init, nn.init),
         (torch.nn.utils, nn.utils), (toptim, optim), (optim2, optim), (torch.optim.lr_scheduler, optim.lr_scheduler),
         (tsched, optim.lr_scheduler), (torch.utils.data, data), (DataLoader, data.DataLoader),
         (torch.nn.Linear, nn.Linear)]
bad = [i for i, (a, b) in enumerate(pairs) if a is not b]
assert not bad, bad
# one copy of each module: no module file executed twice under two names
files = {{}}
for name, mod in list(sys.modules.items()):
    f = getattr(mod, "__file__", None)
    if f and (name.startswith(("nn", "optim", "autograd_core"))):
        assert files.setdefault(f, mod) is mod, (name, f)
assert nn.__spec__.name == "nn" and F.__spec__.name == "nn.functional"   # real specs kept
layer = torch.nn.Linear(2, 3)
assert isinstance(layer, nn.Module) and isinstance(layer.weight, nn.Parameter)
print("ok")
"""


@pytest.mark.parametrize("first", ["import nn", "import optim", "import autograd_core", "import autograd_core.nn",
                                   "from autograd_core.utils.data import DataLoader", "import nn.functional"])
def test_pytorch_paths_are_the_same_modules_in_any_import_order(first):
    out = subprocess.run([sys.executable, "-c", CHECK.format(first=first)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_script_that_only_imports_torch_reaches_everything():
    script = r"""
import autograd_core as torch
net = torch.nn.Sequential(torch.nn.Linear(2, 1))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
sched = torch.optim.lr_scheduler.StepLR(opt, 1)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(4, 2), torch.randn(4, 1)), batch_size=2)
for x, y in loader:
    opt.zero_grad(); torch.nn.functional.mse_loss(net(x), y).backward(); opt.step()
sched.step()
print(sorted(set(dir(torch)) & {"nn", "optim", "utils"}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['nn', 'optim', 'utils']"


def test_unknown_attributes_still_raise():
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        ag.nonexistent  # noqa: B018
