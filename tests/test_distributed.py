"""Tests for pttour.distributed: launching ranks, DDP equivalence, DDP checkpoints, failures.

Starting processes costs about a second per rank (each imports torch), so the file
launches only twice: one successful run whose results several tests inspect, and one
run in which a rank fails. The functions the ranks run are defined at module level so
that the started processes can import them from this file.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from conftest import linear_data
from torch import nn
from torch.multiprocessing.spawn import ProcessExitedException, ProcessRaisedException
from torch.utils.data import TensorDataset

from pttour.checkpoint import load_checkpoint, save_checkpoint
from pttour.distributed import (
    RankFailedError,
    _read_result,
    ddp_global_batches,
    launch,
    load_checkpoint_ddp,
    save_checkpoint_ddp,
    train_ddp,
)
from pttour.errors import PttourError
from pttour.training import History, train_step

# 29 samples on 2 ranks: the sampler pads to 30 (one sample read twice per epoch) and
# each rank's 15 samples make batches of 4, 4, 4 and a short one of 3.
NUM_SAMPLES, WORLD_SIZE, BATCH_SIZE, EPOCHS, SEED = 29, 2, 4, 4, 7
LINUX_ONLY = "reads listening sockets from /proc, which only Linux has"


def _build_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))


def _make_optimizer(parameters) -> torch.optim.Optimizer:
    return torch.optim.SGD(parameters, lr=0.05, momentum=0.9)


def _dataset() -> TensorDataset:
    return TensorDataset(*linear_data(NUM_SAMPLES, noise_std=0.1, seed=3))


def _recipe(**overrides) -> functools.partial:
    settings = {
        "build_model": _build_mlp,
        "dataset": _dataset(),
        "loss_fn": nn.MSELoss(),
        "make_optimizer": _make_optimizer,
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "seed": SEED,
    }
    return functools.partial(train_ddp, **(settings | overrides))


def _addresses_listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket that process ``pid`` listens on (Linux /proc)."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = str(fd.readlink())
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = []
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address_hex, port_hex = local.split(":")
            raw = bytes.fromhex(address_hex)
            # /proc prints each 32-bit word in host (little-endian) byte order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.append((socket.inet_ntop(family, raw), int(port_hex, 16)))
    return found


def _ddp_worker(rank: int, world_size: int, folder: str) -> dict:
    """Everything the successful launch checks, in one run of the two ranks."""
    report = {
        "env": {key: os.environ[key] for key in ("RANK", "WORLD_SIZE", "GLOO_SOCKET_IFNAME")},
        "backend": dist.get_backend(),
    }
    if sys.platform == "linux":
        dist.barrier()  # every rank's gloo connections are up
        report["own_sockets"] = _addresses_listening(os.getpid())
        report["launcher_sockets"] = _addresses_listening(os.getppid())
    checkpoints = Path(folder) / "checkpoints"
    report["stopped"] = _recipe(epochs=2, checkpoint_dir=checkpoints)(rank, world_size)
    report["resumed"] = _recipe(checkpoint_dir=checkpoints)(rank, world_size)
    report["straight"] = _recipe()(rank, world_size)
    return report


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory) -> tuple[list[dict], Path]:
    folder = tmp_path_factory.mktemp("ddp")
    results = launch(_ddp_worker, WORLD_SIZE, str(folder), timeout=60)
    assert multiprocessing.active_children() == []  # every rank was reaped
    return results, folder


def _single_process_reference() -> tuple[nn.Module, list[float]]:
    """One process, global batches of WORLD_SIZE * BATCH_SIZE in the ranks' order."""
    X, y = _dataset().tensors
    torch.manual_seed(SEED)
    model = _build_mlp()
    optimizer = _make_optimizer(model.parameters())
    epoch_losses = []
    for epoch in range(EPOCHS):
        total, count = 0.0, 0
        batches = ddp_global_batches(
            NUM_SAMPLES, world_size=WORLD_SIZE, batch_size=BATCH_SIZE, epoch=epoch, seed=SEED
        )
        for batch in batches:
            total += train_step(model, X[batch], y[batch], nn.MSELoss(), optimizer) * len(batch)
            count += len(batch)
        epoch_losses.append(total / count)
    return model, epoch_losses


# ----------------------------------------------------------------- the successful launch


@pytest.mark.slow
def test_two_ranks_equal_one_process_with_the_global_batch(ddp_run):
    results, _ = ddp_run
    reference, reference_losses = _single_process_reference()
    ddp_state = results[0]["straight"]["model"]
    assert ddp_state.keys() == reference.state_dict().keys()
    for name, tensor in reference.state_dict().items():
        assert torch.allclose(ddp_state[name], tensor, atol=1e-6), name
    assert results[0]["straight"]["epoch_losses"] == pytest.approx(reference_losses, rel=1e-5)
    # Training really moved the weights: the comparison is not between two initial models.
    torch.manual_seed(SEED)
    initial = _build_mlp().state_dict()
    assert not all(torch.allclose(ddp_state[k], initial[k], atol=1e-3) for k in initial)
    assert reference_losses[-1] < 0.5 * reference_losses[0]


@pytest.mark.slow
def test_every_rank_ends_with_the_same_weights_and_losses(ddp_run):
    results, _ = ddp_run
    assert [r["env"]["RANK"] for r in results] == ["0", "1"]
    assert all(r["backend"] == "gloo" for r in results)
    first, second = (r["straight"] for r in results)
    assert all(torch.equal(first["model"][k], second["model"][k]) for k in first["model"])
    assert first["epoch_losses"] == second["epoch_losses"]


@pytest.mark.slow
def test_a_resumed_ddp_run_equals_a_straight_one(ddp_run):
    results, folder = ddp_run
    for result in results:
        stopped, resumed, straight = result["stopped"], result["resumed"], result["straight"]
        assert (stopped["start_epoch"], resumed["start_epoch"]) == (0, 2)
        assert len(stopped["epoch_losses"]) == 2
        assert resumed["epoch_losses"] == straight["epoch_losses"]
        for name, tensor in straight["model"].items():
            assert torch.equal(resumed["model"][name], tensor), name
    files = sorted(p.name for p in (folder / "checkpoints").iterdir())
    assert files == [f"epoch-000{n}.pt" for n in range(1, EPOCHS + 1)]


@pytest.mark.slow
def test_ddp_checkpoints_load_into_a_plain_model(ddp_run):
    results, folder = ddp_run
    plain = _build_mlp()  # no DistributedDataParallel: keys without "module."
    ckpt = load_checkpoint(folder / "checkpoints" / f"epoch-000{EPOCHS}.pt", plain)
    assert ckpt.epoch == EPOCHS
    assert ckpt.metadata["epoch_losses"] == results[0]["resumed"]["epoch_losses"]
    for name, tensor in plain.state_dict().items():
        assert torch.equal(tensor, results[0]["resumed"]["model"][name]), name


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason=LINUX_ONLY)
def test_everything_listens_on_127_0_0_1_only(ddp_run):
    results, _ = ddp_run
    # The ranks meet through a file: the launcher listens on no port at all.
    assert results[0]["launcher_sockets"] == []
    assert all(r["env"]["GLOO_SOCKET_IFNAME"] == "lo" for r in results)
    for result in results:
        assert result["own_sockets"], "gloo listens for its peers"
        assert {address for address, _ in result["own_sockets"]} == {"127.0.0.1"}


# ----------------------------------------------------------------- the failing launch


def _fail_on_rank_one(rank: int, world_size: int, folder: str) -> None:
    (Path(folder) / f"pid-{rank}").write_text(str(os.getpid()))
    # Both ranks past the set-up first: gloo may let rank 1 out of init_process_group while
    # rank 0 still connects to it, and rank 1 leaving then would fail rank 0 there instead.
    dist.barrier()
    if rank == 1:
        raise ValueError("rank one cannot count")
    dist.barrier()  # waits for rank 1 forever: launch must stop this rank


@pytest.mark.slow
def test_a_failing_rank_is_named_and_no_process_survives(tmp_path):
    with pytest.raises(RankFailedError, match="rank 1 of 2 raised ValueError: rank one") as info:
        launch(_fail_on_rank_one, 2, str(tmp_path), timeout=30)
    err = info.value
    assert (err.rank, err.world_size) == (1, 2)
    assert isinstance(err.__cause__, ProcessRaisedException)  # torch's launcher found it
    assert "Traceback from rank 1" in str(err)
    assert "_fail_on_rank_one" in str(err)
    assert multiprocessing.active_children() == []
    for rank in (0, 1):
        pid = int((tmp_path / f"pid-{rank}").read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone and reaped


# ----------------------------------------------------------------- no processes needed


@pytest.mark.parametrize(
    ("world_size", "error", "match"),
    [
        (0, ValueError, "world_size must be an int >= 1, got 0"),
        (-2, ValueError, "world_size must be an int >= 1, got -2"),
        (1.5, TypeError, "world_size must be an int >= 1, got 1.5"),
        (True, TypeError, "world_size must be an int >= 1, got True"),
        ("2", TypeError, "world_size must be an int >= 1, got '2'"),
    ],
)
def test_launch_rejects_a_bad_world_size(world_size, error, match):
    with pytest.raises(error, match=match):
        launch(_fail_on_rank_one, world_size, "unused")


def test_launch_rejects_functions_new_processes_cannot_import():
    def local(rank, world_size):
        return rank

    with pytest.raises(TypeError, match=r"^fn '.*<lambda>' cannot be pickled"):
        launch(lambda rank, world_size: rank, 1)
    with pytest.raises(TypeError, match=r"^fn '.*<locals>\.local' cannot be pickled.*top level"):
        launch(local, 1)
    with pytest.raises(TypeError, match=r"^fn '.*<locals>\.local' cannot be pickled"):
        launch(functools.partial(local), 1)
    with pytest.raises(TypeError, match="fn must be callable"):
        launch(42, 1)
    assert multiprocessing.active_children() == []


def test_launch_rejects_a_function_from_an_interactive_session(monkeypatch):
    def interactive(rank, world_size):
        return rank

    interactive.__qualname__ = "interactive"
    interactive.__module__ = "__main__"
    notebook = type(sys)("__main__")  # a __main__ without __file__, as in a notebook
    notebook.interactive = interactive
    monkeypatch.setitem(sys.modules, "__main__", notebook)
    with pytest.raises(TypeError, match="interactive session or notebook"):
        launch(interactive, 1)


def test_launch_rejects_unpicklable_arguments_and_bad_timeouts():
    with pytest.raises(TypeError, match=r"^argument 1 \(generator\) cannot be pickled"):
        launch(_fail_on_rank_one, 1, "folder", (n for n in range(3)))
    with pytest.raises(ValueError, match="timeout=0 must be a finite, positive number"):
        launch(_fail_on_rank_one, 1, "folder", timeout=0)


def test_a_result_that_cannot_be_loaded_safely_is_a_type_error(tmp_path):
    torch.save(History([1.0]), tmp_path / "rank-0.pt")
    with pytest.raises(
        TypeError, match=r"rank 0 returned a value that holds pttour\.training\.History, "
    ):
        _read_result(tmp_path, 0, 2)
    torch.save({"loss": [1.0], "w": torch.ones(2)}, tmp_path / "rank-1.pt")
    assert _read_result(tmp_path, 1, 2)["loss"] == [1.0]
    with pytest.raises(RankFailedError, match="rank 2 of 3 exited without returning"):
        _read_result(tmp_path, 2, 3)


def _die_on_rank_one(rank: int, world_size: int, how: str) -> None:
    if rank == 1:
        if how == "exit":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
    dist.barrier()  # waits for rank 1 forever: launch must stop this rank


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "message"), [("exit", "exited with code 3"), ("kill", "was killed by SIGKILL")]
)
def test_a_rank_that_dies_without_a_report_is_named(how, message):
    with pytest.raises(RankFailedError, match=f"^rank 1 of 2 {message}") as info:
        launch(_die_on_rank_one, 2, how, timeout=30)
    assert isinstance(info.value.__cause__, ProcessExitedException)
    assert multiprocessing.active_children() == []


def test_rank_failed_error_is_a_pttour_runtime_error():
    err = RankFailedError("rank 0 of 1 raised KeyError", rank=0, world_size=1)
    assert isinstance(err, PttourError)
    assert isinstance(err, RuntimeError)
    assert (err.rank, err.world_size, str(err)) == (0, 1, "rank 0 of 1 raised KeyError")


def _sampler_free_global_batches(n: int, world: int, batch: int, epoch: int, seed: int):
    """The same order, written out from DistributedSampler's documented rule (n % world == 0)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    ranks = [order[r::world] for r in range(world)]
    steps = range(0, n // world, batch)
    return [[i for r in range(world) for i in ranks[r][s : s + batch]] for s in steps]


@pytest.mark.parametrize(("n", "world", "batch"), [(12, 2, 3), (12, 3, 2), (20, 4, 3), (6, 1, 4)])
def test_global_batches_follow_the_distributed_sampler_rule(n, world, batch):
    for epoch in range(3):
        got = ddp_global_batches(n, world_size=world, batch_size=batch, epoch=epoch, seed=5)
        assert got == _sampler_free_global_batches(n, world, batch, epoch, seed=5)
        assert sorted(i for step in got for i in step) == list(range(n))  # each sample once
    first, second = (
        ddp_global_batches(n, world_size=world, batch_size=batch, epoch=e, seed=5) for e in (0, 1)
    )
    assert first != second  # set_epoch changes the order


def test_global_batches_pad_when_ranks_cannot_split_evenly():
    steps = ddp_global_batches(5, world_size=2, batch_size=3, epoch=0, seed=0)
    flat = [i for step in steps for i in step]
    assert len(flat) == 6
    assert sorted(set(flat)) == list(range(5))
    order = torch.randperm(5, generator=torch.Generator().manual_seed(0)).tolist()
    assert flat.count(order[0]) == 2  # the first sample of the permutation is read twice


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"world_size": 0}, ValueError, "world_size must be an int >= 1, got 0"),
        ({"batch_size": 2.0}, TypeError, "batch_size must be an int >= 1, got 2.0"),
        ({"epoch": -1}, ValueError, "epoch must be an int >= 0, got -1"),
        ({"epoch": None}, TypeError, "epoch must be an int >= 0, got None"),
        ({"shuffle": "no"}, TypeError, "shuffle must be True or False, got 'no'"),
        ({"seed": 0.5}, TypeError, "seed must be an int"),
    ],
)
def test_global_batches_reject_bad_counts(kwargs, error, match):
    settings = {"world_size": 2, "batch_size": 2, "epoch": 0} | kwargs
    with pytest.raises(error, match=match):
        ddp_global_batches(8, **settings)


def test_ddp_helpers_need_a_process_group(tmp_path):
    model = _build_mlp()
    path = save_checkpoint(tmp_path / "plain.pt", model)
    with pytest.raises(RuntimeError, match="no default process group is initialised"):
        save_checkpoint_ddp(tmp_path / "ddp.pt", model)
    assert not (tmp_path / "ddp.pt").exists()
    with pytest.raises(RuntimeError, match="no default process group is initialised"):
        load_checkpoint_ddp(path, model)
    with pytest.raises(RuntimeError, match="launch"):
        _recipe()(0, 1)
