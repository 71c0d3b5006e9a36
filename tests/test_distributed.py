"""autograd_core.distributed, nn.parallel.DistributedDataParallel and DistributedSampler.

The MPI tests launch ``mpiexec -n 2`` (MPICH from the ``distributed`` extra); one launch of
``tests/mpi_checks.py`` runs most checks, and each test compares what the ranks wrote with a
reference computed here, in one process without MPI. They skip, saying why, only where
mpiexec cannot start two ranks at all.
"""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import autograd_core as ag
import autograd_core.distributed as dist
import nn
import nn.functional as F
import optim
from autograd_core import data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import mpi_checks  # noqa: E402

LAUNCH_TIMEOUT = 300   # s; a hang fails the test instead of the CI run (a cold Numba cache compiles first)


def _mpiexec():
    """The mpiexec next to this Python (the mpich wheel's), else on PATH."""
    here = os.path.dirname(sys.executable)
    return shutil.which("mpiexec", path=here + os.pathsep + os.environ.get("PATH", ""))


def _env():
    env = os.environ.copy()
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def launch(args, n=2, timeout=LAUNCH_TIMEOUT):
    return subprocess.run([_mpiexec(), "-n", str(n), sys.executable, *args], cwd=ROOT, env=_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def mpi():
    """Skip (with the reason) unless ``mpiexec -n 2`` starts two ranks that can talk."""
    if _mpiexec() is None:
        pytest.skip("mpiexec not found (pip install -e \".[distributed]\" installs MPICH's)")
    if not dist.is_available():
        pytest.skip("mpi4py is not installed (pip install -e \".[distributed]\")")
    probe = "from mpi4py import MPI; c = MPI.COMM_WORLD; assert c.allreduce(1) == c.Get_size() == 2"
    try:
        r = launch(["-c", probe], timeout=60)
    except subprocess.TimeoutExpired:
        pytest.skip("mpiexec -n 2 did not finish a one-line job within 60 s")
    if r.returncode != 0:
        pytest.skip(f"mpiexec -n 2 cannot start: exit {r.returncode}: {(r.stderr or r.stdout)[-500:]}")


@pytest.fixture(scope="module")
def ranks(mpi, tmp_path_factory):
    """One launch of tests/mpi_checks.py; what each rank found, as dicts of arrays."""
    out = tmp_path_factory.mktemp("mpi")
    r = launch([os.path.join(ROOT, "tests", "mpi_checks.py"), str(out),
                "collectives", "ddp", "no_sync", "unused", "sampler", "sync_bn"])
    assert r.returncode == 0, f"mpi_checks.py failed (exit {r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    res = []
    for rank in range(2):
        with np.load(out / f"rank{rank}.npz") as f:
            res.append({k: f[k] for k in f.files})
    return res


# --------------------------------------------------------------------------- references (one process)

def reference_train(model=None, steps=None, target=lambda y: y):
    """One process, the whole batch of each step: what every rank must end with."""
    model = model or mpi_checks.small_cnn(seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in (steps or mpi_checks.batches()):
        opt.zero_grad()
        F.cross_entropy(model(ag.tensor(x)), ag.tensor(target(y))).backward()
        opt.step()
    return model


def half_grad(x, y, rank, world=2):
    model = mpi_checks.small_cnn(seed=0)
    half = len(x) // world
    sl = slice(rank * half, (rank + 1) * half)
    F.cross_entropy(model(ag.tensor(x[sl])), ag.tensor(y[sl])).backward()
    return model[-1].weight.grad.data


# --------------------------------------------------------------------------- collectives

def test_collectives_results(ranks):
    world = 2
    bases = [np.array([1.0 + r, -2.0 * r, 3.5]) for r in range(world)]
    expected = {"SUM": sum(bases), "MAX": np.maximum(*bases), "MIN": np.minimum(*bases),
                "AVG": sum(bases) / world, "PRODUCT": bases[0] * bases[1]}
    for rank in range(world):
        got = ranks[rank]
        assert got["world"] == world
        for op, want in expected.items():
            np.testing.assert_array_equal(got[f"all_reduce_{op}"], want, err_msg=f"{op} on rank {rank}")
        np.testing.assert_array_equal(got["all_reduce_int_ndarray"], np.arange(6).reshape(2, 3) * 3)
        np.testing.assert_array_equal(got["all_reduce_strided"], np.full((3, 2), 3.0))
        assert got["async_completed"]
        np.testing.assert_array_equal(got["broadcast"], np.ones(4))          # rank 1's values (src=1)
        np.testing.assert_array_equal(got["all_gather"], [[0, 1, 2], [10, 11, 12]])
        assert "must be a list of 2 tensors" in str(got["all_gather_error"])


# --------------------------------------------------------------------------- DistributedDataParallel

def test_ddp_two_ranks_on_half_batches_equal_one_process_on_the_whole_batch(ranks):
    """Four SGD-momentum steps, float64; rank 1 started from other weights (wrapping copies rank 0's)."""
    ref = dict(reference_train().named_parameters())
    start_other = dict(mpi_checks.small_cnn(seed=99).named_parameters())
    for rank in range(2):
        for tag in ("ddp", "small", "overlap"):   # one bucket; 7 buckets; 7 overlapped with backward
            for name, p in ref.items():
                np.testing.assert_allclose(ranks[rank][f"{tag}.{name}"], p.data, rtol=0, atol=1e-10,
                                           err_msg=f"{tag}: {name} on rank {rank}")
        # the check can fail: rank 1's own initial weights are far from the result
        assert not np.allclose(start_other["0.weight"].data, ref["0.weight"].data, atol=1e-3)
    assert ranks[0]["ddp_buckets"] == 1 and ranks[0]["small_buckets"] == 7
    assert ranks[0]["grad_is_view"] and ranks[1]["grad_is_view"]


def test_no_sync_accumulates_locally_then_averages_the_total(ranks):
    (x0, y0), (x1, y1) = mpi_checks.batches()[:2]
    for rank in range(2):
        np.testing.assert_allclose(ranks[rank]["no_sync_local"], half_grad(x0, y0, rank), rtol=0, atol=1e-12)
    total = sum(half_grad(x0, y0, r) + half_grad(x1, y1, r) for r in range(2)) / 2
    for rank in range(2):
        np.testing.assert_allclose(ranks[rank]["no_sync_then_sync"], total, rtol=0, atol=1e-12)
    assert not np.allclose(ranks[0]["no_sync_local"], ranks[1]["no_sync_local"])


def test_unused_parameters_do_not_hang_and_average_what_was_used(ranks):
    # y = a(x) + b(x) on rank 0 (x = 1), a(x) on rank 1 (x = 2); 2 rows: dsum/dW = column sums of x
    for rank in range(2):
        for find in (0, 1):
            got = ranks[rank]
            np.testing.assert_array_equal(got[f"unused{find}.a"], np.full((2, 3), (2.0 + 4.0) / 2))
            np.testing.assert_array_equal(got[f"unused{find}.b"], np.full((2, 3), (2.0 + 0.0) / 2))
        assert not ranks[rank]["unused0.never_is_none"]   # a zero gradient
        assert ranks[rank]["unused1.never_is_none"]       # find_unused_parameters: as in one process


def test_sync_batch_norm_matches_batch_norm_on_the_whole_batch(ranks):
    """Parameters and running statistics after four steps; plain BatchNorm2d (per-rank statistics) differs."""
    ag.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 2)).double()
    ref = reference_train(model, target=lambda y: y % 2).state_dict()
    for rank in range(2):
        for name, v in ref.items():
            np.testing.assert_allclose(ranks[rank][f"sync_bn.{name}"], v.data, rtol=0, atol=1e-10,
                                       err_msg=f"{name} on rank {rank}")
    assert not np.allclose(ranks[0]["plain_bn.1.running_mean"], ref["1.running_mean"].data, atol=1e-6)
    assert not np.allclose(ranks[0]["plain_bn.0.weight"], ref["0.weight"].data, atol=1e-6)


# --------------------------------------------------------------------------- failures

def test_a_rank_that_raises_aborts_the_others(mpi, tmp_path):
    script = tmp_path / "boom.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import autograd_core.distributed as dist
        dist.init_process_group("mpi")
        if dist.get_rank() == 1:
            raise ValueError("rank 1 fails on purpose")
        dist.all_reduce(np.ones(3))   # rank 0 waits here for a rank that is gone
        print("rank 0 was not aborted")
    """))
    r = launch([str(script)], timeout=60)
    assert r.returncode != 0
    assert "rank 1 fails on purpose" in r.stderr and "aborting all 2 ranks" in r.stderr
    assert "rank 0 was not aborted" not in r.stdout


def test_different_models_are_refused_at_wrap_time_on_every_rank(mpi, tmp_path):
    script = tmp_path / "mismatch.py"
    script.write_text(textwrap.dedent("""
        import autograd_core.distributed as dist
        import nn
        from nn.parallel import DistributedDataParallel as DDP
        dist.init_process_group("mpi")
        rank = dist.get_rank()
        model = nn.Sequential(nn.Linear(4, 8 if rank == 0 else 9), nn.ReLU())
        try:
            DDP(model)
        except RuntimeError as e:
            print(f"rank {rank}: {e}")
        layers = [nn.Linear(4, 4)] * (1 if rank == 0 else 2)
        try:
            DDP(nn.Sequential(*[nn.Linear(4, 4) for _ in layers]))
        except RuntimeError as e:
            print(f"rank {rank}: {e}")
    """))
    r = launch([str(script)], timeout=60)
    assert r.returncode == 0, r.stderr
    for rank in range(2):
        assert (f"rank {rank}: DistributedDataParallel: the ranks hold different models, so their gradients cannot "
                f"be averaged: parameter '0.weight' has shape (8, 4), dtype float32 on rank 0 but '0.weight' has "
                f"shape (9, 4), dtype float32 on rank 1") in r.stdout
        assert f"rank {rank}: DistributedDataParallel: the ranks hold different models, so their gradients cannot " \
               f"be averaged: rank 0's model has 2 parameters, rank 1's has 4 (only rank 1 has 1.weight, 1.bias)" \
               in r.stdout


def test_without_mpi4py_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)   # what `import mpi4py` sees when it is not installed
    assert not dist.is_available()
    with pytest.raises(ImportError, match=r"pip install -e \"\.\[distributed\]\""):
        dist.init_process_group("mpi")


def test_importing_the_package_does_not_import_mpi4py():
    code = ("import sys, autograd_core, nn, nn.parallel, autograd_core.distributed, autograd_core.data; "
            "assert 'mpi4py' not in sys.modules, sorted(m for m in sys.modules if 'mpi' in m)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


def test_calls_before_init_say_what_to_do():
    assert not dist.is_initialized()
    for fn, args in ((dist.get_rank, ()), (dist.get_world_size, ()), (dist.all_reduce, (np.ones(2),)),
                     (dist.barrier, ())):
        with pytest.raises(RuntimeError, match="init_process_group"):
            fn(*args)
    with pytest.raises(RuntimeError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="give num_replicas and rank"):
        data.DistributedSampler(range(4))
    with pytest.raises(ValueError, match="backend 'nccl' is not available"):
        dist.init_process_group("nccl")


def test_threads_per_rank_share_the_cores():
    assert dist._threads_per_rank(2, 2, 2) == 1      # two ranks on this machine: one thread each
    assert dist._threads_per_rank(2, 2, 1) == 2
    assert dist._threads_per_rank(16, 16, 3) == 5
    assert dist._threads_per_rank(4, 16, 4) == 4     # pinned by the launcher: its own cores
    assert dist._threads_per_rank(1, 1, 4) == 1


# --------------------------------------------------------------------------- DistributedSampler

@pytest.mark.parametrize("n,replicas,drop_last", [(23, 2, False), (23, 2, True), (24, 4, False), (5, 3, False),
                                                   (2, 4, False), (10, 3, True)])
def test_sampler_shards_are_disjoint_and_cover_the_data_set(n, replicas, drop_last):
    ds = range(n)
    shards = [list(data.DistributedSampler(ds, replicas, r, shuffle=True, seed=3, drop_last=drop_last))
              for r in range(replicas)]
    sizes = {len(s) for s in shards}
    assert sizes == {n // replicas if drop_last else -(-n // replicas)}
    flat = [i for s in shards for i in s]
    if drop_last:
        assert len(set(flat)) == len(flat) == replicas * (n // replicas)   # disjoint
    else:
        assert set(flat) == set(range(n))                                 # covering
        assert len(flat) - len(set(flat)) == len(flat) - n                # only the padding repeats
    assert all(0 <= i < n for i in flat)


def test_sampler_set_epoch_reshuffles_identically_on_every_rank():
    a = data.DistributedSampler(range(50), 2, 0, seed=7)
    b = data.DistributedSampler(range(50), 2, 1, seed=7)
    e0 = list(a) + list(b)
    a.set_epoch(1)
    b.set_epoch(1)
    e1 = list(a) + list(b)
    assert sorted(e0) == sorted(e1) == list(range(50)) and e0 != e1
    assert list(data.DistributedSampler(range(6), 2, 1, shuffle=False)) == [1, 3, 5]
    with pytest.raises(ValueError, match="invalid rank 2"):
        data.DistributedSampler(range(4), num_replicas=2, rank=2)


def test_sampler_on_two_ranks_through_the_data_loader(ranks):
    for epoch in (0, 1):
        a, b = (ranks[r][f"sampler_epoch{epoch}"] for r in range(2))
        assert len(a) == len(b) == 12
        assert set(a) | set(b) == set(range(23)) and len(set(a) & set(b)) <= 1   # 24 slots: one repeat
        want = data.DistributedSampler(range(23), 2, 0, seed=5)
        want.set_epoch(epoch)
        np.testing.assert_array_equal(a, list(want))


def test_data_loader_takes_a_sampler():
    ds = data.TensorDataset(np.arange(10) * 10)
    loader = data.DataLoader(ds, batch_size=3, sampler=[9, 0, 4, 2])
    assert len(loader) == 2
    assert [b[0].tolist() for b in loader] == [[90, 0, 40], [20]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        data.DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(TypeError, match="sampler must be an iterable"):
        data.DataLoader(ds, sampler=3)


# --------------------------------------------------------------------------- the main job

def test_train_lenet5_distributed_writes_and_resumes_from_rank_0(mpi, tmp_path):
    out = str(tmp_path / "run")
    common = ["examples/train_lenet5.py", "--distributed", "--limit", "256", "--batch-size", "64", "--out", out,
              "--no-progress", "--no-plot"]
    r = launch(common + ["--epochs", "1"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("epoch 1/1 ") == 1, r.stdout           # only rank 0 prints
    assert "2 ranks" in r.stdout
    assert os.path.exists(os.path.join(out, "checkpoint.npz"))
    # one rank on the whole batch (here, in this process) trains the same model: the two ranks'
    # batches of a step are the one rank's batch, split in two
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    import train_lenet5
    one = str(tmp_path / "one")
    try:
        train_lenet5.main(common[1:common.index("--out")] + ["--out", one, "--no-progress", "--no-plot",
                                                             "--epochs", "1"])
    finally:
        dist.destroy_process_group()
    h1, h2 = nn.load(os.path.join(one, "checkpoint.npz"))["history"], nn.load(os.path.join(out, "checkpoint.npz"))["history"]
    np.testing.assert_allclose(h2["train_loss"], h1["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(h2["test_loss"], h1["test_loss"], rtol=1e-4)
    r = launch(common + ["--epochs", "2", "--resume"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("resumed from") == 1 and r.stdout.count("epoch 2/2 ") == 1, r.stdout
    ckpt = nn.load(os.path.join(out, "checkpoint.npz"))
    assert ckpt["epoch"] == 2 and len(ckpt["history"]["test_acc"]) == 2
    assert ckpt["history"]["test_acc"][-1] > 0.2   # learning (10 classes: chance is 0.1)


def test_ddp_on_one_rank_is_plain_training_and_is_freed_by_reference_counting():
    """Without mpiexec a script is one rank: DDP then trains exactly as the bare model does."""
    import gc
    import weakref
    dist.init_process_group("mpi")
    try:
        assert dist.get_world_size() == 1 and dist.get_rank() == 0
        ref = reference_train()
        model = mpi_checks.small_cnn(seed=0)
        ddp = nn.parallel.DistributedDataParallel(model)
        reference_train(ddp)
        for (name, p), q in zip(ref.named_parameters(), model.parameters()):
            np.testing.assert_array_equal(q.data, p.data, err_msg=name)
        gc.disable()
        try:
            alive = weakref.ref(ddp._reducer)
            del ddp
            assert alive() is None   # no reference cycle keeps the reducer (and its buckets) alive
        finally:
            gc.enable()
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()
