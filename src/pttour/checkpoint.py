"""Crash-safe, safe-to-load, exactly-resumable checkpoints (article §4.5).

A checkpoint worth having survives the process dying while it is written, refuses a file that
would run code when unpickled, and resumes a run exactly where it stopped.
"""

from __future__ import annotations

import collections
import errno
import io
import os
import pickle
import random
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

try:
    import numpy as np  # optional: pttour itself needs only torch
except ImportError:
    np = None

from pttour import _checks
from pttour.errors import (
    ArchitectureMismatchError,
    CheckpointError,
    CheckpointNotFoundError,
    CheckpointWriteError,
    CorruptCheckpointError,
    UnsafeCheckpointError,
)

__all__ = [
    "Checkpoint",
    "checkpoint_path",
    "latest_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]

_FORMAT = "pttour-checkpoint"
_VERSION = 1
_EPOCH_FILE = re.compile(r"epoch-(\d{4,})\.pt")
# The layout of PyTorch's tutorial "Saving and loading a general checkpoint", and its extensions.
_RECIPE = {
    "model": "model_state_dict",
    "optimizer": "optimizer_state_dict",
    "scheduler": "scheduler_state_dict",
    "scaler": "scaler_state_dict",
}
# What unreadable bytes make torch.load raise (OSError: a truncated archive can make it seek
# past the end); anything else, such as MemoryError or a bug, propagates as it is.
_UNREADABLE = (OSError, pickle.UnpicklingError, EOFError, RuntimeError, ValueError, IndexError,
               struct.error, zipfile.BadZipFile)  # fmt: skip


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` read besides the states it restored in place.

    >>> Checkpoint(Path("runs/epoch-0003.pt"), epoch=3, metadata={"loss": 0.25}).epoch
    3
    """

    path: Path
    epoch: int | None
    metadata: dict = field(default_factory=dict)


def save_checkpoint(
    path: str | os.PathLike[str],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    scheduler: Any | None = None,
    scaler: Any | None = None,
    epoch: int | None = None,
    metadata: dict | None = None,
    generators: dict[str, torch.Generator] | None = None,
) -> Path:
    """Atomically write a checkpoint that :func:`load_checkpoint` can restore exactly.

    A bare ``torch.save(obj, path)`` truncates the old file first, so a crash or a full disk
    leaves no checkpoint at all. Here a temporary file in the same folder is written and fsynced,
    then atomically renamed over ``path``; a failure leaves the previous checkpoint intact.
    Everything stored is checked to load with ``weights_only=True``. Stored: the state dicts of
    the model and of the optimizer, scheduler and scaler given, ``epoch``, ``metadata`` (numbers,
    strings, tensors ... that ``weights_only`` rebuilds), the RNG states (torch, CUDA once used,
    ``random``, NumPy) and named ``generators`` (e.g. ``{"loader": loader.generator}``).

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> model = torch.nn.Linear(3, 1)
    >>> path = save_checkpoint(Path(tmp.name) / "runs" / "epoch-0001.pt", model,  # "runs" is made
    ...                        torch.optim.SGD(model.parameters(), lr=0.1), epoch=1)
    >>> sorted(p.name for p in path.parent.iterdir())  # no temporary file left behind
    ['epoch-0001.pt']
    >>> tmp.cleanup()

    A wrong argument, or a value ``weights_only=True`` could not load, raises ``TypeError``
    naming where it is; a file that cannot be written, :class:`CheckpointWriteError`.
    """
    path = _checks.path("path", path)
    _checks.module("model", model)
    components = _components(optimizer, scheduler, scaler)
    if epoch is not None:
        _checks.integer("epoch", epoch, minimum=0)
    _checks.require_type("metadata", {} if metadata is None else metadata, dict, "a dict")
    payload = {
        "format": _FORMAT,
        "version": _VERSION,
        "epoch": epoch,
        "metadata": metadata or {},
        "model": model.state_dict(),
        "classes": {name: _class_name(obj) for name, obj in components.items()},
        "rng": _rng_states(),
        "generators": {
            name: {"device": str(g.device), "state": g.get_state()}
            for name, g in _generators(generators).items()
        },
    }
    payload.update((name, obj.state_dict()) for name, obj in components.items())
    _check_loadable(payload)
    if path.is_dir():
        raise IsADirectoryError(
            f"cannot save a checkpoint to {str(path)!r}: it is a folder. Give a file path, "
            f"e.g. checkpoint_path({str(path)!r}, epoch)."
        )
    _atomic_torch_save(payload, path)
    return path


def load_checkpoint(
    path: str | os.PathLike[str],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    scheduler: Any | None = None,
    scaler: Any | None = None,
    generators: dict[str, torch.Generator] | None = None,
    restore_rng: bool = True,
) -> Checkpoint:
    """Safely load a checkpoint written by :func:`save_checkpoint` into live objects.

    The file is read with ``torch.load(path, map_location="cpu", weights_only=True)``, so it
    cannot run code and a GPU checkpoint loads on a CPU-only machine. Everything is checked
    before anything changes: a missing, corrupt or unsafe file, another architecture, or an
    optimizer, scheduler or scaler whose saved state does not fit the one passed raises a
    specific error and leaves your objects as they were. PyTorch's recipe layout
    (``model_state_dict``, ``optimizer_state_dict``, ``epoch`` ...) loads too. With
    ``restore_rng`` the global RNG states come back (CUDA's only where as many GPUs are seen);
    ``generators`` always do.

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> saved = torch.nn.Linear(3, 1)
    >>> path = save_checkpoint(Path(tmp.name) / "ck.pt", saved, epoch=4, metadata={"loss": 0.5})
    >>> fresh = torch.nn.Linear(3, 1)  # other random initial weights
    >>> ckpt = load_checkpoint(path, fresh)
    >>> torch.equal(fresh.weight, saved.weight), ckpt.epoch, ckpt.metadata
    (True, 4, {'loss': 0.5})
    >>> load_checkpoint(path, torch.nn.Linear(3, 2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pttour.errors.ArchitectureMismatchError: checkpoint '...ck.pt' does not fit the model ...
    >>> tmp.cleanup()

    Errors: :class:`CheckpointNotFoundError`, :class:`UnsafeCheckpointError`,
    :class:`CorruptCheckpointError`, :class:`ArchitectureMismatchError` (every missing,
    unexpected and misshaped key), :class:`CheckpointError` (a component that is not in the file
    or does not fit); ``TypeError`` for an argument of the wrong type.
    """
    path = _checks.path("path", path)
    _checks.module("model", model)
    requested = _components(optimizer, scheduler, scaler)
    generators = _generators(generators)
    _checks.boolean("restore_rng", restore_rng)
    payload = _read_payload(path)

    # Check everything first, so a failure leaves every object as it was.
    _check_architecture(path, payload["model"], model)
    for name, target in requested.items():
        _check_component(path, payload, name, target)
    saved_generators = payload.get("generators") or {}
    held = {name: torch.device(g["device"]).type for name, g in saved_generators.items()}
    for name, generator in generators.items():
        if held.get(name) != generator.device.type:
            raise CheckpointError(
                f"checkpoint {str(path)!r} holds no {generator.device.type} generator named "
                f"{name!r} (it holds {held}). Save it with "
                f"save_checkpoint(..., generators={{{name!r}: g}}) on that device."
            )

    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as err:  # a module's own checks, beyond keys and shapes
        raise ArchitectureMismatchError(
            f"checkpoint {str(path)!r} does not fit the model ({type(model).__name__}): {err}"
        ) from err
    for name, target in requested.items():
        target.load_state_dict(payload[name])
    for name, generator in generators.items():
        generator.set_state(saved_generators[name]["state"])
    if restore_rng:
        _restore_rng(payload.get("rng") or {})
    return Checkpoint(path=path, epoch=payload.get("epoch"), metadata=payload.get("metadata") or {})


def checkpoint_path(folder: str | os.PathLike[str], epoch: int) -> Path:
    """Return the conventional file name for the checkpoint taken after ``epoch``.

    Zero-padded names (``epoch-0010.pt``) sort in epoch order, and
    :func:`latest_checkpoint` finds the newest one by parsing them.

    >>> checkpoint_path("runs", 7).as_posix()
    'runs/epoch-0007.pt'
    """
    folder = _checks.path("folder", folder)
    return folder / f"epoch-{_checks.integer('epoch', epoch, minimum=0):04d}.pt"


def latest_checkpoint(
    folder: str | os.PathLike[str], *, skip_unreadable: bool = False
) -> Path | None:
    """Return the checkpoint with the highest epoch in ``folder``, or None if there is none.

    Only names that :func:`checkpoint_path` makes count, compared by number, not by time; the
    ``.tmp`` files an interrupted save may leave are ignored. With ``skip_unreadable=True`` a
    file that does not open as a checkpoint is skipped for the next older one.

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for name in ["epoch-0009.pt", "epoch-0010.pt", ".epoch-0011.pt.x1y2.tmp", "notes.txt"]:
    ...     _ = (Path(tmp.name) / name).write_bytes(b"")
    >>> latest_checkpoint(tmp.name).name, latest_checkpoint(Path(tmp.name) / "missing")
    ('epoch-0010.pt', None)
    >>> latest_checkpoint(tmp.name, skip_unreadable=True) is None  # both files are empty
    True
    >>> tmp.cleanup()
    """
    folder = _checks.path("folder", folder)
    _checks.boolean("skip_unreadable", skip_unreadable)
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise NotADirectoryError(
            f"{str(folder)!r} is a file, not a folder of checkpoints; pass the folder that "
            f"holds the epoch-NNNN.pt files."
        )
    found = [
        (int(match.group(1)), entry)
        for entry in folder.iterdir()
        if (match := _EPOCH_FILE.fullmatch(entry.name)) and entry.is_file()
    ]
    for _, candidate in sorted(found, reverse=True):
        if not skip_unreadable:
            return candidate
        try:
            _read_payload(candidate, mmap=True)
        except CheckpointError:
            continue
        return candidate
    return None


def _class_name(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _components(optimizer: object, scheduler: object, scaler: object) -> dict[str, Any]:
    """The optional objects that were passed, by name, each checked to have a state dict."""
    if optimizer is not None:
        _checks.optimizer("optimizer", optimizer)
    if scaler is not None:
        _checks.require_type("scaler", scaler, torch.amp.GradScaler, "a torch.amp.GradScaler")
    given = {"optimizer": optimizer, "scheduler": scheduler, "scaler": scaler}
    for name, obj in given.items():
        if obj is not None and not callable(getattr(obj, "load_state_dict", None)):
            raise TypeError(
                f"{name} must have state_dict() and load_state_dict(), got "
                f"{type(obj).__name__}; pass e.g. a torch.optim.lr_scheduler.StepLR, or None."
            )
    return {name: obj for name, obj in given.items() if obj is not None}


def _generators(generators: object) -> dict[str, torch.Generator]:
    generators = {} if generators is None else generators
    if type(generators) is not dict or not all(
        type(name) is str and isinstance(g, torch.Generator) for name, g in generators.items()
    ):
        raise TypeError(
            f"generators must be a dict of str names to torch.Generator objects, got "
            f"{generators!r}; e.g. generators={{'loader': loader.generator}}."
        )
    return generators


def _skeleton(value: object, empty: dict) -> object:
    """``value`` with every plain tensor replaced by one shared empty tensor of its dtype."""
    kind = type(value)
    if kind is torch.Tensor and value.layout == torch.strided and not value.is_quantized:
        return empty.setdefault(value.dtype, torch.empty(0, dtype=value.dtype))
    if kind in (dict, collections.OrderedDict):
        return kind((key, _skeleton(item, empty)) for key, item in value.items())
    if kind in (list, tuple):
        return kind(_skeleton(item, empty) for item in value)
    return value  # anything else is saved as it is


def _places(value: object, where: str = "") -> Iterator[tuple[str, object]]:
    """Each value inside dicts, lists and tuples, and dict keys, with where it is."""
    yield where, value
    if type(value) in (dict, collections.OrderedDict):
        for key, item in value.items():
            yield f"{where or 'checkpoint'} key {key!r}", key
            yield from _places(item, f"{where}[{key!r}]" if where else str(key))
    elif type(value) in (list, tuple):
        for index, item in enumerate(value):
            yield from _places(item, f"{where}[{index}]")


def _check_loadable(payload: dict[str, Any]) -> None:
    """Raise TypeError, naming the place, if weights_only=True could not load ``payload``."""
    buffer = io.BytesIO()
    torch.save(_skeleton(payload, {}), buffer)  # the structure only: tensors are left empty
    buffer.seek(0)
    refused = torch.serialization.get_unsafe_globals_in_checkpoint(buffer)
    if not refused:
        return

    def names(value: object) -> set[str]:
        return {f"{getattr(v, '__module__', '')}.{getattr(v, '__qualname__', '')}"
                for v in (value, type(value))}  # fmt: skip

    where = next((w for w, v in _places(payload) if w and names(v) & set(refused)), "checkpoint")
    raise TypeError(
        f"{where} holds {', '.join(refused)}, which torch.load(..., weights_only=True) refuses to "
        f"rebuild, so the checkpoint could not be loaded safely. Store a plain value instead "
        f"(str(), int(), list(), dict() ...), or allowlist the type with "
        f"torch.serialization.add_safe_globals([...])."
    )


def _rng_states() -> dict[str, Any]:
    """The global RNG states, as tensors and plain values that weights_only can load."""
    version, internal, gauss_next = random.getstate()
    states = {
        "torch": torch.get_rng_state(),
        "python": (version, torch.tensor(internal), gauss_next),
    }
    # Only a process that has used CUDA has CUDA random state beyond its seed (which a
    # resumed run re-applies with torch.manual_seed); asking an unused CUDA for it would
    # create a context, and its memory, on every GPU just to save a checkpoint.
    if torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    if np is not None:
        name, keys, position, has_gauss, gauss = np.random.get_state(legacy=True)
        keys = torch.from_numpy(keys.astype(np.int64))
        states["numpy"] = (str(name), keys, int(position), int(has_gauss), float(gauss))
    return states


def _atomic_torch_save(payload: dict[str, Any], path: Path) -> None:
    """torch.save to a temporary sibling, fsync it, rename it over ``path``, fsync the folder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
        # O_EXCL: never write through a file or link that is already there. Mode 0o666 less
        # the umask, as a plain open() gives; a replaced checkpoint keeps its own mode.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        descriptor = os.open(temporary, flags, 0o666)
    except OSError as err:
        raise _write_error(path, err) from err
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if path.exists():
                temporary.chmod(path.stat().st_mode & 0o777)
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the name points at them
        temporary.replace(path)  # os.replace: atomic on POSIX and Windows
    except BaseException as err:
        temporary.unlink(missing_ok=True)
        cause = err  # torch reports a failed write as a RuntimeError raised from the OSError
        while cause is not None and not isinstance(cause, OSError):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        raise _write_error(path, cause) from err
    if os.name == "posix":  # make the rename durable; NTFS journals renames itself
        descriptor = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _write_error(path: Path, err: OSError) -> CheckpointWriteError:
    """The error to raise for a failed write: it names ``path`` and the cause."""
    folder, code = str(path.parent), err.errno
    blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
    full = "no space is left: the disk or your quota is full. Free some space or save elsewhere"
    denied = f"permission denied: this process may not create files in {folder!r}"
    too_big = "the file is larger than this process may write (ulimit -f) or the file system allows"
    reasons = {errno.ENOSPC: full, getattr(errno, "EDQUOT", errno.ENOSPC): full,
               errno.EFBIG: too_big, errno.EROFS: f"the file system of {folder!r} is read-only",
               errno.EACCES: denied, errno.EPERM: denied}  # fmt: skip
    if blocker is not None:  # mkdir: a file stands where a folder must be
        reasons[errno.EEXIST] = reasons[errno.ENOTDIR] = (
            f"{str(blocker)!r} is a file, not a folder. Move it or save elsewhere"
        )
    reason = reasons.get(code, f"{type(err).__name__}: {err.strerror or err}")
    message = f"checkpoint {str(path)!r} was not saved: {reason}. Any previous file is intact."
    return CheckpointWriteError(code, message) if code else CheckpointWriteError(message)


def _read_payload(path: Path, *, mmap: bool = False) -> dict[str, Any]:
    """torch.load the file safely and turn every way it can fail into a specific error."""
    if path.is_dir():
        raise CheckpointNotFoundError(
            f"no checkpoint at {str(path)!r}: it is a folder. Pass a file, e.g. "
            f"latest_checkpoint({str(path)!r})."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except FileNotFoundError as err:
        raise CheckpointNotFoundError(
            f"no checkpoint at {str(path)!r}: the file does not exist. Check the path, or use "
            f"latest_checkpoint(folder) to find the newest one (None means start from scratch)."
        ) from err
    except PermissionError:
        raise  # the file may be fine; the fix is access rights, not another checkpoint
    except _UNREADABLE as err:
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except _UNREADABLE:
            unsafe = []
        if isinstance(err, pickle.UnpicklingError) and unsafe:
            raise UnsafeCheckpointError(
                f"checkpoint {str(path)!r} was not loaded: unpickling it would import and call "
                f"{', '.join(unsafe)}, i.e. loading it would run code, which weights_only=True "
                f"refuses. A pttour checkpoint never needs that. Only ever load a file with "
                f"weights_only=False if you trust whoever made it."
            ) from err
        size = path.stat().st_size
        raise CorruptCheckpointError(
            f"checkpoint {str(path)!r} ({size} bytes) is truncated, corrupt or not a torch "
            f"checkpoint at all, so it cannot be loaded ({type(err).__name__}: "
            f"{(str(err).strip() or 'no message').splitlines()[0]}). Load an earlier one: "
            f"latest_checkpoint(folder, skip_unreadable=True) finds the newest that opens."
        ) from err

    if isinstance(payload, dict) and "format" not in payload and _RECIPE["model"] in payload:
        epoch = payload.get("epoch")
        payload = {
            "format": _FORMAT,
            "version": _VERSION,
            "epoch": epoch if type(epoch) is int else None,
            "metadata": {k: v for k, v in payload.items() if k not in {*_RECIPE.values(), "epoch"}},
            **{name: payload[key] for name, key in _RECIPE.items() if key in payload},
        }
    if type(payload) is not dict or payload.get("format") != _FORMAT:
        found = sorted(map(str, payload))[:8] if isinstance(payload, dict) else type(payload)
        raise CorruptCheckpointError(
            f"{str(path)!r} is a torch file but not a pttour checkpoint: it holds {found}, not "
            f"a dict with 'format': {_FORMAT!r} (nor PyTorch's recipe layout with "
            f"'model_state_dict'). A bare state_dict loads with "
            f"model.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))."
        )
    version = payload.get("version")
    if type(version) is not int or version > _VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {version!r}; this pttour reads "
            f"version {_VERSION}. Upgrade pttour to load it."
        )
    if not isinstance(payload.get("model"), dict):
        raise CorruptCheckpointError(
            f"checkpoint {str(path)!r} is damaged: its 'model' entry is a "
            f"{type(payload.get('model')).__name__}, not a state dict."
        )
    return payload


def _check_architecture(path: Path, saved: dict[str, Any], model: torch.nn.Module) -> None:
    """Compare keys and shapes up front, so the error lists every difference precisely."""
    expected = model.state_dict()
    missing = [key for key in expected if key not in saved]
    unexpected = [key for key in saved if key not in expected]
    mismatched = [
        f"{key}: checkpoint {tuple(saved[key].shape)} vs model {tuple(value.shape)}"
        for key, value in expected.items()
        if key in saved
        and isinstance(value, torch.Tensor)
        and isinstance(saved[key], torch.Tensor)
        and saved[key].shape != value.shape
    ]
    if not (missing or unexpected or mismatched):
        return
    lines = [f"checkpoint {str(path)!r} does not fit the model ({type(model).__name__}):"]
    found = {"missing keys (in the model, not in the checkpoint)": missing,
             "unexpected keys (in the checkpoint, not in the model)": unexpected,
             "shape mismatches": mismatched}  # fmt: skip
    lines += [f"  {what}: {', '.join(keys)}" for what, keys in found.items() if keys]
    hint = "Build the model with the same layers, names and sizes as the one that was saved."
    for prefix, wrapper in (("module.", "DataParallel/DistributedDataParallel"),
                            ("_orig_mod.", "torch.compile")):  # fmt: skip
        if unexpected and all(key.startswith(prefix) for key in unexpected):
            hint = (
                f"The checkpoint's keys start with {prefix!r}: it was saved from a {wrapper} "
                f"wrapper. Save the inner model instead, or load into the same wrapper."
            )
        elif missing and all(key.startswith(prefix) for key in missing):
            hint = (
                f"The model's keys start with {prefix!r}: it is wrapped by {wrapper}. Load "
                f"into the inner model instead."
            )
    raise ArchitectureMismatchError("\n".join([*lines, hint]))


def _check_component(path: Path, payload: dict[str, Any], name: str, target: Any) -> None:
    """Refuse a saved optimizer, scheduler or scaler state that does not fit ``target``."""
    saved = payload.get(name)
    if saved is None:
        raise CheckpointError(
            f"checkpoint {str(path)!r} holds no {name} state, but load_checkpoint was given "
            f"{name}={type(target).__name__}(...). Save it with save_checkpoint(..., {name}=...), "
            f"or leave it out."
        )
    # A file in PyTorch's recipe layout records no class: then the entries must fit.
    saved_class = (payload.get("classes") or {}).get(name)
    groups = [len(g["params"]) for g in getattr(target, "param_groups", [])]
    saved_groups = saved.get("param_groups", []) if name == "optimizer" else []
    options = set(getattr(target, "defaults", {})) - {k for g in saved_groups for k in g}
    problem = None
    if saved_class not in (None, _class_name(target)):
        problem = f"it holds the state of {saved_class.rpartition('.')[2]}"
    elif name == "optimizer" and [len(g.get("params", ())) for g in saved_groups] != groups:
        problem = (
            f"its parameter groups hold {[len(g.get('params', ())) for g in saved_groups]} "
            f"parameters, those of the one passed {groups}: create the optimizer from the same "
            f"parameters, in the same groups, as when it was saved"
        )
    elif saved_class is None and name == "optimizer" and options:
        problem = f"it has none of the options {sorted(options)}: it is another optimizer's"
    elif saved_class is None and name == "scheduler" and set(saved) != set(target.state_dict()):
        problem = f"its entries are {sorted(saved)}, not {sorted(target.state_dict())}"
    elif name == "scaler" and bool(saved) != target.is_enabled():
        problem = (
            "it was saved from an enabled GradScaler and would be dropped silently by a disabled one"
            if saved
            else "it was saved from a disabled GradScaler (its state is empty)"
        )
    if problem is not None:
        raise CheckpointError(
            f"checkpoint {str(path)!r}: the saved {name} state does not fit the "
            f"{type(target).__name__} passed: {problem}. Nothing was loaded. Pass the kind of "
            f"{name} that was saved, built the same way, or {name}=None to leave it out."
        )


def _restore_rng(states: dict[str, Any]) -> None:
    if "torch" in states:
        torch.set_rng_state(states["torch"])
    if "python" in states:
        version, internal, gauss_next = states["python"]
        random.setstate((version, tuple(internal.tolist()), gauss_next))
    cuda = states.get("cuda")
    # Restorable only where the same number of CUDA devices exists; a CPU-only machine has
    # no CUDA generator to restore into, so the states are skipped (documented above).
    if cuda and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all(cuda)
    if "numpy" in states and np is not None:  # without NumPy, nothing here can use its state
        name, keys, *rest = states["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
