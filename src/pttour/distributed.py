"""Data-parallel training on one machine with ``torch.distributed`` (gloo, CPU).

Distributed data parallel (DDP) runs one process per *rank*; each holds a copy of the model and
reads its own share of the samples, and ``backward()`` averages the gradients over the ranks. With
``W`` ranks and per-rank batches of ``B``, each step is the step one process takes on the ``W * B``
samples the ranks read together: :func:`ddp_global_batches` lists them, so one process can replay
a run of :func:`train_ddp` started by :func:`launch`.
"""

from __future__ import annotations

import datetime
import itertools
import os
import pickle
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.multiprocessing.spawn import ProcessExitedException, ProcessRaisedException
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from pttour import _checks
from pttour.checkpoint import (
    Checkpoint,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from pttour.errors import CheckpointError, PttourError
from pttour.training import train_step

__all__ = [
    "RankFailedError",
    "ddp_global_batches",
    "launch",
    "load_checkpoint_ddp",
    "save_checkpoint_ddp",
    "train_ddp",
]


class RankFailedError(PttourError, RuntimeError):
    """A rank started by :func:`launch` raised an exception or died.

    The message names the rank and holds its traceback; ``__cause__`` is torch's launcher's error.

    >>> err = RankFailedError("rank 1 of 2 raised ValueError: bad batch", rank=1, world_size=2)
    >>> err.rank, err.world_size, isinstance(err, RuntimeError)
    (1, 2, True)
    """

    def __init__(self, message: str, *, rank: int, world_size: int) -> None:
        super().__init__(message)
        self.rank = rank
        self.world_size = world_size


def _run_rank(rank: int, fn: Callable[..., Any], world_size: int, args: tuple, folder: str,
              timeout_s: float) -> None:  # fmt: skip
    """The body of each started process: join the group, run ``fn``, save what it returned."""
    loopback = next((n for _, n in socket.if_nameindex() if n.startswith("lo")), "lo")
    # gloo binds to the address of the machine's host name unless told an interface.
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_WORLD_SIZE=str(world_size), GLOO_SOCKET_IFNAME=loopback)  # fmt: skip
    # The ranks share the machine's cores: without this each would start a thread per core.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    dist.init_process_group(
        "gloo",
        init_method=Path(folder, "rendezvous").as_uri(),  # a file, not a port
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    try:
        result = fn(rank, world_size, *args)
    except BaseException:
        # Reported before the group goes: its end makes the waiting ranks fail too, later.
        Path(folder, f"rank-{rank}.failed").write_text(f"{time.time()}\n{traceback.format_exc()}")
        raise
    finally:
        dist.destroy_process_group()
    torch.save(result, Path(folder, f"rank-{rank}.pt"))
    # End here, as multiprocessing ends a forked child: the interpreter's shutdown can free gloo's
    # last objects while their threads still need the GIL, which aborts a rank whose work is done
    # ("terminate called without an active exception").
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def launch(fn: Callable[..., Any], world_size: int, *args: Any, timeout: float = 120.0) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` processes joined in a process group.

    What ``torchrun`` does, on one machine in one call: one process per rank
    (:func:`torch.multiprocessing.start_processes`), a gloo (CPU) process group that always ends,
    and each rank's return value, in rank order. ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` are
    set as ``torchrun`` sets them. The ranks meet through a file in a private folder (no port),
    and gloo stays on the loopback interface. If a rank raises or dies, the others are stopped
    and :class:`RankFailedError` names the first that failed; no process outlives the call.

    >>> launch(lambda rank, world_size: rank, 2)
    Traceback (most recent call last):
        ...
    TypeError: fn '<lambda>' cannot be pickled, so a new process cannot receive it. ...

    ``fn`` must be a top-level function (or a ``functools.partial`` of one) and ``args``
    picklable; ``fn`` returns what ``torch.load(weights_only=True)`` rebuilds (tensors, numbers,
    strings, and lists, tuples and dicts of them). ``timeout`` is how many seconds a rank waits
    for the others in each collective.
    """
    _checks.function("fn", fn)
    world_size = _checks.integer("world_size", world_size, minimum=1)
    timeout = _checks.real("timeout", timeout, positive=True)
    _check_picklable(fn, args)
    with tempfile.TemporaryDirectory(prefix="pttour-launch-") as folder:
        context = mp.start_processes(
            _run_rank,
            args=(fn, world_size, args, folder, timeout),
            nprocs=world_size,
            join=False,
            start_method="spawn",
        )
        try:
            while not context.join(grace_period=2):  # then SIGTERM, 2 s later SIGKILL
                pass
        except (ProcessRaisedException, ProcessExitedException) as err:
            reports = {int(p.stem[5:]): p.read_text().split("\n", 1) for p in
                       Path(folder).glob("rank-*.failed")}  # fmt: skip
            # The rank that failed first: the earliest report, unless torch saw a rank die
            # without one (killed, or os._exit): the others' errors are its consequence.
            rank, text = err.error_index, ""
            if reports and (isinstance(err, ProcessRaisedException) or rank in reports):
                rank = min(reports, key=lambda r: float(reports[r][0]))
                text = reports[rank][1].strip()
            elif isinstance(err, ProcessRaisedException):  # it failed outside fn
                text = str(err).strip().split("\n", 1)[-1]  # torch's copy of the traceback
            if text:
                what = f"raised {text.splitlines()[-1]}\n\nTraceback from rank {rank}:\n{text}"
            elif err.signal_name:
                what = f"was killed by {err.signal_name}"
            else:
                what = f"exited with code {err.exit_code} before returning from fn"
            raise RankFailedError(
                f"rank {rank} of {world_size} {what}", rank=rank, world_size=world_size
            ) from err
        finally:
            for process in context.processes:  # only alive when this call was interrupted
                if process.is_alive():
                    process.kill()
                process.join()
        return [_read_result(Path(folder), rank, world_size) for rank in range(world_size)]


def _check_picklable(fn: Callable[..., Any], args: tuple) -> None:
    """Refuse what a freshly started Python process could not receive or import."""
    inner = getattr(fn, "func", fn)  # a functools.partial's function
    name = getattr(inner, "__qualname__", type(inner).__name__)
    for what, value in ((f"fn {name!r}", fn), *((f"argument {i} ({type(a).__name__})", a)
                                                  for i, a in enumerate(args))):  # fmt: skip
        try:
            pickle.dumps(value)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            raise TypeError(
                f"{what} cannot be pickled, so a new process cannot receive it. Define "
                "functions with def at the top level of an importable module, and bind their "
                "arguments with functools.partial."
            ) from err
    main = sys.modules.get("__main__")
    if getattr(inner, "__module__", None) == "__main__" and not hasattr(main, "__file__"):
        raise TypeError(
            f"fn {name!r} was defined in an interactive session or notebook; processes started "
            "with 'spawn' cannot import it from there. Put it in a .py module and import it."
        )


def _read_result(folder: Path, rank: int, world_size: int) -> Any:
    try:
        return torch.load(folder / f"rank-{rank}.pt", map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RankFailedError(
            f"rank {rank} of {world_size} exited without returning from fn (did it call "
            "sys.exit?); return a value instead.",
            rank=rank,
            world_size=world_size,
        ) from None
    except pickle.UnpicklingError as err:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(folder / f"rank-{rank}.pt")
        raise TypeError(
            f"rank {rank} returned a value that holds {', '.join(unsafe) or 'an object'}, which "
            "torch.load(weights_only=True) refuses to rebuild. Return tensors, numbers, "
            "strings, None, or lists, tuples and dicts of them (e.g. model.state_dict())."
        ) from err


def _require_group(rank: int | None = None, world_size: int | None = None) -> None:
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(
            "no default process group is initialised; run this inside a rank started by "
            "pttour.launch(...) (or after torch.distributed.init_process_group)."
        )
    if rank is not None and (dist.get_rank(), dist.get_world_size()) != (rank, world_size):
        raise ValueError(
            f"called with rank={rank}, world_size={world_size} but this process is rank "
            f"{dist.get_rank()} of {dist.get_world_size()}; pass the values launch gives fn."
        )


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def save_checkpoint_ddp(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    **kwargs: Any,
) -> Path:
    """Save a checkpoint from rank 0 only; every rank returns once the file is complete.

    Rank 0 saves ``model.module`` (no ``module.`` prefix, so a plain model loads it) with
    :func:`pttour.save_checkpoint` and broadcasts whether it succeeded, so a failed save raises
    on every rank instead of leaving them waiting.

    >>> save_checkpoint_ddp("ck.pt", torch.nn.Linear(1, 1))
    Traceback (most recent call last):
        ...
    RuntimeError: no default process group is initialised; ...
    """
    _require_group()
    path = Path(path)
    error: Exception | None = None
    if dist.get_rank() == 0:
        try:
            save_checkpoint(path, _unwrap(model), optimizer, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised below, after telling the others
            error = exc
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL moves CUDA tensors only
    saved = torch.tensor([error is None], dtype=torch.uint8, device=device)
    dist.broadcast(saved, src=0)  # also the barrier: nobody goes on before the file exists
    if error is not None:
        raise error
    if not bool(saved.item()):
        raise CheckpointError(
            f"rank 0 failed to save the checkpoint {str(path)!r}; see the error raised on rank 0."
        )
    return path


def load_checkpoint_ddp(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    restore_rng: bool = False,
    **kwargs: Any,
) -> Checkpoint:
    """Load a checkpoint into ``model.module`` (and the optimizer) on every rank.

    ``restore_rng`` defaults to False: the file holds rank 0's random states, which would give
    every rank the same random stream (identical dropout masks, say).

    >>> load_checkpoint_ddp("ck.pt", torch.nn.Linear(1, 1))
    Traceback (most recent call last):
        ...
    RuntimeError: no default process group is initialised; ...
    """
    _require_group()
    return load_checkpoint(path, _unwrap(model), optimizer, restore_rng=restore_rng, **kwargs)


def ddp_global_batches(
    num_samples: int,
    *,
    world_size: int,
    batch_size: int,
    epoch: int,
    seed: int = 0,
    shuffle: bool = True,
) -> list[list[int]]:
    """List, step by step, the sample indices that all ranks read together in one epoch.

    Step ``k`` of a DDP run averages the gradients of every rank's ``k``-th batch, so it equals
    one step on their union (rank 0's part first), computed here with ``DistributedSampler``
    itself: a single process can replay the run exactly. When ``world_size`` does not divide
    ``num_samples`` the sampler repeats the first indices (index 0 below is read twice).

    >>> ddp_global_batches(8, world_size=2, batch_size=2, epoch=0, shuffle=False)
    [[0, 2, 1, 3], [4, 6, 5, 7]]
    >>> ddp_global_batches(5, world_size=2, batch_size=3, epoch=0, shuffle=False)
    [[0, 2, 4, 1, 3, 0]]
    >>> ddp_global_batches(8, world_size=2, batch_size=2, epoch=0, seed=0)
    [[4, 7, 0, 3], [2, 1, 5, 6]]
    """
    num_samples = _checks.integer("num_samples", num_samples, minimum=1)
    world_size = _checks.integer("world_size", world_size, minimum=1)
    batch_size = _checks.integer("batch_size", batch_size, minimum=1)
    epoch = _checks.integer("epoch", epoch, minimum=0)
    seed = _checks.integer("seed", seed)
    _checks.boolean("shuffle", shuffle)
    per_rank = []
    for rank in range(world_size):
        # The sampler reads only the length of the "dataset".
        sampler = DistributedSampler(range(num_samples), world_size, rank, shuffle, seed)
        sampler.set_epoch(epoch)
        indices = list(sampler)
        per_rank.append([indices[i : i + batch_size] for i in range(0, len(indices), batch_size)])
    steps = range(len(per_rank[0]))
    return [list(itertools.chain.from_iterable(b[step] for b in per_rank)) for step in steps]


def train_ddp(
    rank: int,
    world_size: int,
    *,
    build_model: Callable[[], nn.Module],
    dataset: Dataset,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    make_optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
    epochs: int,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    checkpoint_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Train with DistributedDataParallel on the CPU; launch it with :func:`launch`.

    Each rank seeds torch and builds the model (the same weights everywhere), wraps it in
    ``DistributedDataParallel``, reads its share through ``DistributedSampler`` and calls
    ``sampler.set_epoch(epoch)`` before each epoch (without it every epoch repeats the first
    one's order). With ``checkpoint_dir`` it resumes from the newest checkpoint there and saves
    one after each epoch with :func:`save_checkpoint_ddp`.

    >>> train_ddp(0, 1, build_model=None, dataset=None, loss_fn=None, make_optimizer=None,
    ...           epochs=1, batch_size=1)
    Traceback (most recent call last):
        ...
    RuntimeError: no default process group is initialised; ...

    Returns ``{"model": the final state_dict, "epoch_losses": the mean loss of every epoch
    (those before a resume too), "start_epoch": 0 unless resumed}``.
    """
    _require_group(rank, world_size)
    epochs = _checks.integer("epochs", epochs, minimum=1)
    batch_size = _checks.integer("batch_size", batch_size, minimum=1)
    seed = _checks.integer("seed", seed)
    _checks.boolean("shuffle", shuffle)
    torch.manual_seed(seed)  # the same initial weights on every rank
    model = build_model()
    ddp_model = DistributedDataParallel(model)
    optimizer = make_optimizer(ddp_model.parameters())
    sampler = DistributedSampler(dataset, world_size, rank, shuffle, seed)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler)

    start_epoch, epoch_losses = 0, []
    latest = None if checkpoint_dir is None else latest_checkpoint(checkpoint_dir)
    if latest is not None:
        resumed = load_checkpoint_ddp(latest, ddp_model, optimizer)
        start_epoch = resumed.epoch or 0
        epoch_losses = list(resumed.metadata.get("epoch_losses", []))

    for epoch in range(start_epoch, epochs):
        sampler.set_epoch(epoch)  # a new order each epoch, the same on every rank
        ddp_model.train()
        totals = torch.zeros(2, dtype=torch.float64)  # sum of losses, number of samples
        for inputs, targets in loader:
            loss = train_step(ddp_model, inputs, targets, loss_fn, optimizer)
            totals += torch.tensor([loss * len(inputs), len(inputs)], dtype=torch.float64)
        dist.all_reduce(totals)  # every rank's share of the epoch
        epoch_losses.append((totals[0] / totals[1]).item())
        if checkpoint_dir is not None:
            path = checkpoint_path(checkpoint_dir, epoch + 1)
            metadata = {"epoch_losses": epoch_losses}
            save_checkpoint_ddp(path, ddp_model, optimizer, epoch=epoch + 1, metadata=metadata)
    state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    return {"model": state, "epoch_losses": epoch_losses, "start_epoch": start_epoch}
