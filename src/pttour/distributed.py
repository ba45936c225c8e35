"""Data-parallel training on one machine with ``torch.distributed`` (gloo, CPU).

Distributed data parallel (DDP) runs one process per *rank*. Every rank holds a full
copy of the model, reads its own share of each epoch's samples, and computes gradients
on it; during ``backward()`` :class:`~torch.nn.parallel.DistributedDataParallel`
all-reduces the gradients so that every rank applies the *average* gradient and the
copies stay identical. With ``W`` ranks and a per-rank batch of ``B`` samples, each step
is therefore the same step that a single process takes on the ``W * B`` samples the ranks
read together. The example below checks exactly that.

* :func:`launch` starts the processes, connects them (only over 127.0.0.1), and returns
  what each rank returned; an exception in any rank is raised here, naming the rank.
* :func:`train_ddp` is the training recipe to launch: same seed on every rank,
  ``DistributedSampler`` with ``set_epoch``, checkpoints written by rank 0 only.
* :func:`ddp_global_batches` lists which samples the ranks read together at each step,
  so a single-process run can reproduce a DDP run.

>>> import functools
>>> import torch
>>> from torch import nn
>>> from torch.utils.data import TensorDataset
>>> from pttour.training import linear_data, train_step
>>> X, y = linear_data(48)
>>> recipe = functools.partial(
...     train_ddp,
...     build_model=functools.partial(nn.Linear, 2, 1),
...     dataset=TensorDataset(X, y),
...     loss_fn=nn.MSELoss(),
...     make_optimizer=functools.partial(torch.optim.SGD, lr=0.1),
...     epochs=3,
...     batch_size=4,  # per rank: 8 samples per step in total
...     seed=0,
... )
>>> results = launch(recipe, 2)
>>> len(results), [round(loss, 2) for loss in results[0]["epoch_losses"]]
(2, [13.38, 0.36, 0.17])
>>> all(torch.equal(results[0]["model"][k], results[1]["model"][k]) for k in results[0]["model"])
True

One process with batches of 8, in the order the two ranks read them, gets the same weights:

>>> _ = torch.manual_seed(0)
>>> model = nn.Linear(2, 1)
>>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
>>> for epoch in range(3):
...     for batch in ddp_global_batches(48, world_size=2, batch_size=4, epoch=epoch, seed=0):
...         _ = train_step(model, X[batch], y[batch], nn.MSELoss(), optimizer)
>>> all(torch.allclose(v, results[0]["model"][k], atol=1e-6) for k, v in model.state_dict().items())
True
"""

from __future__ import annotations

import datetime
import functools
import io
import itertools
import multiprocessing
import multiprocessing.connection
import os
import pickle
import re
import signal
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
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

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
    "find_free_port",
    "launch",
    "load_checkpoint_ddp",
    "save_checkpoint_ddp",
    "train_ddp",
]

_LOOPBACK = "127.0.0.1"
_IFF_LOOPBACK = 0x8  # Linux interface flag, from <net/if.h>


class RankFailedError(PttourError, RuntimeError):
    """A rank started by :func:`launch` raised an exception or died.

    The message names the rank and holds the rank's own traceback. When the rank's
    exception could be sent back, it is this error's ``__cause__``, so
    ``isinstance(err.__cause__, ValueError)`` tells what went wrong.

    >>> err = RankFailedError("rank 1 of 2 raised ValueError: bad batch", rank=1, world_size=2)
    >>> err.rank, err.world_size, isinstance(err, RuntimeError)
    (1, 2, True)

    Parameters
    ----------
    message : str
        What happened, with the rank's traceback.
    rank : int
        The rank that failed first.
    world_size : int
        How many ranks were launched.
    """

    def __init__(self, message: str, *, rank: int, world_size: int) -> None:
        super().__init__(message)
        self.rank = rank
        self.world_size = world_size


# ----------------------------------------------------------------------------- launching


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that no program was listening on a moment ago.

    A rendezvous needs a port that every rank can reach: ``MASTER_PORT``. Asking the
    operating system for port 0 gives a free one. The socket is closed before the port
    is returned, so another program may take it before you bind it again; :func:`launch`
    avoids that window by keeping its own socket open and handing it to the store.

    >>> port = find_free_port()
    >>> 1024 <= port <= 65535
    True

    Returns
    -------
    int
        The port number.

    Raises
    ------
    OSError
        If no socket can be bound on 127.0.0.1.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((_LOOPBACK, 0))
        return probe.getsockname()[1]


def _check_world_size(world_size: object) -> int:
    if isinstance(world_size, bool) or not isinstance(world_size, int):
        raise TypeError(
            f"world_size must be an int, got {world_size!r} ({type(world_size).__name__}); "
            "pass the number of processes, e.g. world_size=2."
        )
    if world_size < 1:
        raise ValueError(f"world_size={world_size} starts no process; pass 1 or more.")
    return world_size


def _check_launchable(fn: object) -> None:
    """Refuse functions that a freshly started Python process could not import."""
    if not callable(fn):
        raise TypeError(f"fn must be callable as fn(rank, world_size, *args), got {fn!r}.")
    inner = fn
    while isinstance(inner, functools.partial):
        inner = inner.func
    qualname = getattr(inner, "__qualname__", "")
    name = getattr(inner, "__name__", repr(inner))
    if "<lambda>" in qualname or "<locals>" in qualname:
        raise TypeError(
            f"fn={name!r} is a lambda or is defined inside another function, so the new "
            "processes cannot import it by name. Define it with def at the top level of a "
            "module (use functools.partial to bind arguments)."
        )
    main = sys.modules.get("__main__")
    if getattr(inner, "__module__", None) == "__main__" and not hasattr(main, "__file__"):
        raise TypeError(
            f"fn={name!r} was defined in an interactive session or notebook; processes "
            "started with 'spawn' cannot import it from there. Put it in a .py module and "
            "import it."
        )
    try:
        pickle.dumps(fn)
    except (pickle.PicklingError, TypeError, AttributeError) as err:
        raise TypeError(
            f"fn={name!r} cannot be pickled, so it cannot be sent to the new processes "
            f"({err}). Define it at the top level of an importable module."
        ) from err


def _check_args_picklable(args: tuple) -> None:
    for position, arg in enumerate(args):
        try:
            pickle.dumps(arg)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            raise TypeError(
                f"argument {position} ({type(arg).__name__}) of fn cannot be pickled, so it "
                f"cannot be sent to the new processes: {err}"
            ) from err


def _loopback_interface() -> str:
    """The name of the loopback network interface (``lo`` on Linux, ``lo0`` on macOS)."""
    names = [name for _, name in socket.if_nameindex()]
    for name in names:
        try:
            flags = int(Path(f"/sys/class/net/{name}/flags").read_text(), 16)
        except (OSError, ValueError):
            continue
        if flags & _IFF_LOOPBACK:
            return name
    for name in names:
        if re.fullmatch(r"lo\d*", name):
            return name
    raise RuntimeError(
        f"no loopback network interface found among {names}; gloo needs one to keep "
        "its connections on 127.0.0.1."
    )


def _torch_version() -> tuple[int, int]:
    major, minor = re.match(r"(\d+)\.(\d+)", torch.__version__).groups()
    return int(major), int(minor)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run_rank(
    rank: int,
    fn: Callable[..., Any],
    world_size: int,
    args: tuple,
    port: int,
    interface: str,
    folder: str,
    timeout_s: float,
) -> None:
    """The body of each started process: join the group, run ``fn``, save what it returned."""
    os.environ.update(
        MASTER_ADDR=_LOOPBACK,
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_WORLD_SIZE=str(world_size),
        # gloo binds to the address of the machine's host name unless told an interface.
        GLOO_SOCKET_IFNAME=interface,
    )
    # The ranks share the machine's cores: without this each one would start a thread
    # per core and they would slow each other down.
    torch.set_num_threads(max(1, _usable_cpus() // world_size))
    timeout = datetime.timedelta(seconds=timeout_s)
    error_file = Path(folder) / f"rank-{rank}.error"
    try:
        store = dist.TCPStore(_LOOPBACK, port, world_size, is_master=False, timeout=timeout)
        dist.init_process_group(
            "gloo", store=store, rank=rank, world_size=world_size, timeout=timeout
        )
        try:
            result = fn(rank, world_size, *args)
        except Exception as exc:
            # Report before destroying the group: that wakes the ranks waiting for this
            # one with errors of their own, which must not look like the first failure.
            _report_failure(error_file, rank, exc)
            raise
        finally:
            dist.destroy_process_group()
        buffer = io.BytesIO()
        torch.save(result, buffer)
        partial_file = Path(folder) / f"rank-{rank}.pt.partial"
        partial_file.write_bytes(buffer.getvalue())
        partial_file.replace(Path(folder) / f"rank-{rank}.pt")
    except Exception as exc:  # noqa: BLE001 - any failure is reported, then exit non-zero
        if not error_file.exists():
            _report_failure(error_file, rank, exc)
        sys.exit(1)


def _report_failure(error_file: Path, rank: int, exc: Exception) -> None:
    """Write what the launcher needs to re-raise ``exc``: when, what, where, and ``exc``."""
    try:
        sent_back: bytes | None = pickle.dumps(exc)
        pickle.loads(sent_back)  # some exceptions pickle but cannot be rebuilt
    except Exception:  # noqa: BLE001 - the traceback text still goes back
        sent_back = None
    record = {
        "rank": rank,
        "time": time.time(),  # one clock for all processes on this machine
        "summary": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
        "exception": sent_back,
    }
    partial_file = error_file.with_suffix(".partial")
    partial_file.write_bytes(pickle.dumps(record))
    partial_file.replace(error_file)


def _wait_for_all(processes: list) -> int | None:
    """Wait until every process has exited; return the first failed rank, or None."""
    pending = {process.sentinel: rank for rank, process in enumerate(processes)}
    while pending:
        for sentinel in multiprocessing.connection.wait(list(pending)):
            rank = pending.pop(sentinel)
            processes[rank].join()
            if processes[rank].exitcode != 0:
                return rank  # the others may wait for it forever: the caller stops them
    return None


def _stop(processes: list) -> None:
    """Terminate, then kill, every process still alive, and reap them all."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()


def _rank_failure(
    process: multiprocessing.process.BaseProcess, rank: int, folder: Path, world_size: int
) -> tuple[RankFailedError, BaseException | None]:
    """The error naming the rank that failed first, and that rank's own exception."""
    # Written by our own children into this private folder (mode 0700), so safe to unpickle.
    records = [pickle.loads(path.read_bytes()) for path in folder.glob("rank-*.error")]
    if rank not in {record["rank"] for record in records}:
        # The first process to end died without reporting (a signal, os._exit): that is
        # the news; errors of the others are most likely its consequence.
        code = process.exitcode
        if code >= 0:
            how = f"exited with code {code}"
        else:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        message = f"rank {rank} of {world_size} {how} before it could report an error."
        others = [f"rank {r['rank']}: {r['summary']}" for r in records]
        if others:
            message += f"\n(afterwards also failed: {'; '.join(others)})"
        return RankFailedError(message, rank=rank, world_size=world_size), None
    records.sort(key=lambda record: record["time"])
    first = records[0]
    message = f"rank {first['rank']} of {world_size} raised {first['summary']}"
    others = [f"rank {r['rank']}: {r['summary']}" for r in records[1:]]
    if others:
        message += f"\n(afterwards also failed: {'; '.join(others)})"
    message += f"\n\nTraceback from rank {first['rank']}:\n{first['traceback']}"
    cause = pickle.loads(first["exception"]) if first["exception"] else None
    return RankFailedError(message, rank=first["rank"], world_size=world_size), cause


def _read_result(folder: Path, rank: int, world_size: int) -> Any:
    path = folder / f"rank-{rank}.pt"
    if not path.exists():
        raise RankFailedError(
            f"rank {rank} of {world_size} exited without returning from fn (did it call "
            "sys.exit?); return a value instead.",
            rank=rank,
            world_size=world_size,
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        what = f"holds a {refused.group(1)}" if refused else "holds an object"
        raise TypeError(
            f"rank {rank} returned a value that {what}, which torch.load(weights_only=True) "
            "refuses to rebuild. Return tensors, numbers, strings, None, or lists, tuples "
            "and dicts of them (e.g. model.state_dict(), history.epoch_losses)."
        ) from err


def launch(fn: Callable[..., Any], world_size: int, *args: Any, timeout: float = 120.0) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` processes joined in a process group.

    This is what ``torchrun`` does, reduced to one machine and one call: start one
    Python process per rank, connect them over 127.0.0.1 with the gloo backend (CPU),
    run ``fn`` in each, always destroy the process group, and hand back what each rank
    returned, in rank order. In every rank ``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``,
    ``LOCAL_RANK`` and ``WORLD_SIZE`` are set as ``torchrun`` would set them.

    Nothing listens beyond this machine: the rendezvous store runs in this process on a
    socket bound to 127.0.0.1, and gloo is pinned to the loopback interface with
    ``GLOO_SOCKET_IFNAME`` (by default gloo binds to the address of the host name,
    which can be a public one).

    Processes are started with ``spawn``: each imports torch afresh (a second or more
    per process), hence ``fn`` and ``args`` must be picklable and ``fn`` defined at the
    top level of an importable module. ``fork`` would start them in a fraction of that
    time, but a forked child hangs in its first parallel CPU operation once the parent
    has used OpenMP threads, cannot use CUDA once the parent has, and Python 3.12+
    warns about forking a threaded process; ``spawn`` is safe everywhere.

    If a rank raises, the other ranks are terminated and :class:`RankFailedError` names
    the rank that failed first, with its traceback and its exception as ``__cause__``.
    No process outlives the call, also when it is interrupted.

    >>> launch(print, 0)
    Traceback (most recent call last):
        ...
    ValueError: world_size=0 starts no process; pass 1 or more.
    >>> launch(lambda rank, world_size: rank, 2)
    Traceback (most recent call last):
        ...
    TypeError: fn='<lambda>' is a lambda or is defined inside another function, ...

    The module's own example launches :func:`train_ddp` on two ranks.

    Parameters
    ----------
    fn : callable
        Called as ``fn(rank, world_size, *args)`` in each process, with the default
        process group initialised. A top-level function or a ``functools.partial`` of one.
    world_size : int
        The number of processes, at least 1.
    *args
        Passed to ``fn`` after ``rank`` and ``world_size``; must be picklable.
    timeout : float, default 120.0
        Seconds a rank waits for the others in the rendezvous and in each collective
        before failing, so a rank that died cannot leave the rest waiting forever.

    Returns
    -------
    list
        ``fn``'s return value for each rank, in rank order, loaded back on the CPU. It
        travels through ``torch.save`` and ``torch.load(weights_only=True)``: return
        tensors, numbers, strings, ``None``, and lists, tuples and dicts of them.

    Raises
    ------
    TypeError
        If ``world_size`` is not an int, ``fn`` cannot be imported by a new process, an
        argument cannot be pickled, or a rank returned an object that cannot be loaded
        safely.
    ValueError
        If ``world_size`` < 1 or ``timeout`` is not positive.
    RankFailedError
        If a rank raised an exception or died.
    """
    world_size = _check_world_size(world_size)
    if not timeout > 0:
        raise ValueError(f"timeout={timeout!r} must be a positive number of seconds.")
    _check_launchable(fn)
    _check_args_picklable(args)
    interface = _loopback_interface()
    with tempfile.TemporaryDirectory(prefix="pttour-launch-") as folder_name:
        folder = Path(folder_name)
        # Bind the port ourselves, on 127.0.0.1 only, and keep it bound: the store takes
        # over this socket, so no other program can grab the port in between.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind((_LOOPBACK, 0))
            listener.listen(max(world_size, 16))
            port = listener.getsockname()[1]
            store = dist.TCPStore(
                _LOOPBACK,
                port,
                is_master=True,
                wait_for_workers=False,
                timeout=datetime.timedelta(seconds=timeout),
                master_listen_fd=listener.fileno(),
                # The libuv server accepts on a socket it is handed only from torch 2.8.
                use_libuv=_torch_version() >= (2, 8),
            )
        except BaseException:
            listener.close()
            raise
        listener.detach()  # the store now owns the file descriptor and closes it
        processes: list = []
        torch_error_files: list = []
        try:
            context = mp.start_processes(
                _run_rank,
                args=(fn, world_size, args, port, interface, folder_name, timeout),
                nprocs=world_size,
                join=False,
                start_method="spawn",
            )
            processes, torch_error_files = context.processes, context.error_files
            failed = _wait_for_all(processes)
        finally:
            _stop(processes)  # only does something when interrupted or a rank failed
            for error_file in torch_error_files:  # torch's own, written only if we failed
                Path(error_file).unlink(missing_ok=True)
            del store  # stops the store's server and closes its socket
        if failed is not None:
            failure, cause = _rank_failure(processes[failed], failed, folder, world_size)
            raise failure from cause
        return [_read_result(folder, rank, world_size) for rank in range(world_size)]


# ----------------------------------------------------------------------------- training


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


def _flag_device() -> torch.device:
    """Where a collective's tensor must live: NCCL only moves CUDA tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def save_checkpoint_ddp(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    **kwargs: Any,
) -> Path:
    """Save a checkpoint from rank 0 only; every rank returns once the file is complete.

    All ranks hold the same weights, so one file is enough, and several ranks writing
    the same path would race. Rank 0 saves ``model.module`` (the wrapped model: its
    keys have no ``module.`` prefix, so the file also loads into a plain model) with
    :func:`pttour.save_checkpoint`, then broadcasts whether it succeeded; the other
    ranks wait for that message, so none of them can read the file before it exists,
    and a failed save raises on every rank instead of leaving them waiting.

    The random number generator states stored are rank 0's.

    >>> save_checkpoint_ddp("ck.pt", torch.nn.Linear(1, 1))
    Traceback (most recent call last):
        ...
    RuntimeError: no default process group is initialised; ...

    The module's example runs it inside :func:`train_ddp` when given a ``checkpoint_dir``.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file, on a file system every rank can read.
    model : torch.nn.Module
        The ``DistributedDataParallel`` model (or the plain model it wraps).
    optimizer : torch.optim.Optimizer, optional
        Saved too; its state is the same on every rank.
    **kwargs
        Passed to :func:`pttour.save_checkpoint` (``epoch``, ``metadata``, ...).

    Returns
    -------
    pathlib.Path
        ``path`` as a ``Path``, on every rank.

    Raises
    ------
    RuntimeError
        If no process group is initialised.
    CheckpointError
        On the other ranks, when rank 0 could not save; rank 0 raises the original error.
    """
    _require_group()
    path = Path(path)
    error: Exception | None = None
    if dist.get_rank() == 0:
        try:
            save_checkpoint(path, _unwrap(model), optimizer, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised below, after telling the others
            error = exc
    saved = torch.tensor([error is None], dtype=torch.uint8, device=_flag_device())
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
    """Load a checkpoint into the model (and optimizer) on every rank.

    Every rank must load: each holds its own copy of the weights and of the optimizer
    state. The file is read with :func:`pttour.load_checkpoint` (``weights_only=True``,
    mapped to the CPU, then copied to the model's device) into ``model.module``.
    ``restore_rng`` defaults to False because the file holds rank 0's random states:
    restoring them everywhere would give every rank the same random stream (identical
    dropout masks, say). The data order does not depend on it: ``DistributedSampler``
    derives each epoch's order from its seed and ``set_epoch``.

    >>> load_checkpoint_ddp("ck.pt", torch.nn.Linear(1, 1))
    Traceback (most recent call last):
        ...
    RuntimeError: no default process group is initialised; ...

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint written by :func:`save_checkpoint_ddp`.
    model : torch.nn.Module
        The ``DistributedDataParallel`` model (or the plain model it wraps).
    optimizer : torch.optim.Optimizer, optional
        Restored too.
    restore_rng : bool, default False
        Restore rank 0's global RNG states on this rank.
    **kwargs
        Passed to :func:`pttour.load_checkpoint`.

    Returns
    -------
    pttour.Checkpoint
        The path, epoch and metadata read.

    Raises
    ------
    RuntimeError
        If no process group is initialised.
    pttour.CheckpointError
        Any error of :func:`pttour.load_checkpoint` (missing, corrupt, unsafe file,
        another architecture).
    """
    _require_group()
    return load_checkpoint(path, _unwrap(model), optimizer, restore_rng=restore_rng, **kwargs)


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__}).")
    if value < 1:
        raise ValueError(f"{name}={value} must be 1 or more.")
    return value


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

    Under DDP with ``DistributedSampler``, rank ``r`` reads every ``world_size``-th
    index of the epoch's permutation, starting at ``r``, in batches of ``batch_size``.
    Step ``k`` of the run therefore uses rank 0's ``k``-th batch, rank 1's ``k``-th
    batch, and so on; because DDP averages the ranks' gradients, that step equals one
    step on the union of those batches. This function returns those unions (rank 0's
    part first), computed with ``DistributedSampler`` itself, so a single process can
    replay a DDP run exactly. When ``world_size`` does not divide ``num_samples`` the
    sampler repeats the first indices of the permutation to give every rank as many
    samples, as the second example shows (index 0 is read twice).

    >>> ddp_global_batches(8, world_size=2, batch_size=2, epoch=0, shuffle=False)
    [[0, 2, 1, 3], [4, 6, 5, 7]]
    >>> ddp_global_batches(5, world_size=2, batch_size=3, epoch=0, shuffle=False)
    [[0, 2, 4, 1, 3, 0]]
    >>> ddp_global_batches(8, world_size=2, batch_size=2, epoch=0, seed=0)
    [[4, 7, 0, 3], [2, 1, 5, 6]]

    Parameters
    ----------
    num_samples : int
        The dataset's length, at least 1.
    world_size : int
        The number of ranks, at least 1.
    batch_size : int
        The batch size of each rank's ``DataLoader``, at least 1.
    epoch : int
        The value passed to ``sampler.set_epoch`` (0 for the first epoch).
    seed : int, default 0
        The sampler's seed; the same on every rank.
    shuffle : bool, default True
        As in ``DistributedSampler``.

    Returns
    -------
    list of list of int
        One list of indices per step.

    Raises
    ------
    TypeError
        If a count is not an int.
    ValueError
        If a count is below 1 or ``epoch`` is negative.
    """
    num_samples = _check_positive("num_samples", num_samples)
    world_size = _check_positive("world_size", world_size)
    batch_size = _check_positive("batch_size", batch_size)
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        raise TypeError(f"epoch must be an int, got {epoch!r} ({type(epoch).__name__}).")
    if epoch < 0:
        raise ValueError(f"epoch={epoch} is negative; epochs count from 0.")
    per_rank = []
    for rank in range(world_size):
        sampler = DistributedSampler(
            range(num_samples),  # only its length matters
            num_replicas=world_size,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
        )
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

    The recipe, step by step:

    1. seed torch with ``seed`` and build the model, so every rank starts from the same
       weights (DDP also broadcasts rank 0's weights when it wraps the model);
    2. wrap it in ``DistributedDataParallel``, which averages gradients across ranks
       during ``backward()``;
    3. read data through ``DistributedSampler(shuffle=..., seed=seed)``, which gives each
       rank a disjoint share, and call ``sampler.set_epoch(epoch)`` before each epoch:
       without it every epoch repeats the first epoch's order;
    4. with ``checkpoint_dir``, resume from its newest checkpoint if there is one, and
       after each epoch save one with :func:`save_checkpoint_ddp` (rank 0 writes, the
       others wait): a resumed run continues exactly where the saved one stopped.

    Each step is :func:`pttour.train_step` on the DDP model. The epoch loss is averaged
    over all ranks with ``all_reduce``, so every rank reports the same value. The
    module's example runs this on two ranks and checks it against one process.

    >>> train_ddp(0, 1, build_model=None, dataset=None, loss_fn=None, make_optimizer=None,
    ...           epochs=1, batch_size=1)
    Traceback (most recent call last):
        ...
    RuntimeError: no default process group is initialised; ...

    Parameters
    ----------
    rank, world_size : int
        As passed by :func:`launch`.
    build_model : callable
        Returns a new model, e.g. ``functools.partial(nn.Linear, 2, 1)``.
    dataset : torch.utils.data.Dataset
        A map-style dataset of ``(input, target)`` pairs, the same on every rank.
    loss_fn : callable
        ``loss_fn(output, target)`` returning a mean loss.
    make_optimizer : callable
        Builds the optimizer from the parameters, e.g.
        ``functools.partial(torch.optim.SGD, lr=0.1)``.
    epochs : int
        The total number of epochs, counting those a resumed checkpoint already did.
    batch_size : int
        Samples per step *on each rank*; a step uses ``world_size * batch_size`` samples.
    seed : int, default 0
        Seeds the model's initial weights and the sampler's order.
    shuffle : bool, default True
        Shuffle each epoch (differently per epoch, identically on every rank).
    checkpoint_dir : str or os.PathLike, optional
        Where ``epoch-NNNN.pt`` checkpoints are written and resumed from.

    Returns
    -------
    dict
        ``"model"``: the final ``state_dict`` (identical on every rank);
        ``"epoch_losses"``: the mean loss of every epoch, including those done before
        a resume; ``"start_epoch"``: the epoch this call started at (0 unless resumed).

    Raises
    ------
    RuntimeError
        If no process group is initialised.
    ValueError
        If ``rank``/``world_size`` disagree with the process group, or ``epochs`` or
        ``batch_size`` is below 1, or a step fails (see :func:`pttour.train_step`).
    TypeError
        If ``epochs`` or ``batch_size`` is not an int.
    """
    _require_group(rank, world_size)
    epochs = _check_positive("epochs", epochs)
    batch_size = _check_positive("batch_size", batch_size)
    torch.manual_seed(seed)  # the same initial weights on every rank
    model = build_model()
    ddp_model = DistributedDataParallel(model)
    optimizer = make_optimizer(ddp_model.parameters())
    sampler = DistributedSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed
    )
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
            save_checkpoint_ddp(
                checkpoint_path(checkpoint_dir, epoch + 1),
                ddp_model,
                optimizer,
                epoch=epoch + 1,
                metadata={"epoch_losses": epoch_losses},
            )
    state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    return {"model": state, "epoch_losses": epoch_losses, "start_epoch": start_epoch}
