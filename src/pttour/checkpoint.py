"""Crash-safe, safe-to-load, exactly-resumable checkpoints (article §4.5).

A checkpoint that is worth having survives three things: the process dying while
it is being written, a file from somewhere else that tries to run code while it is
unpickled, and a resumed run that should continue exactly where the first one
stopped. This module handles all three:

* :func:`save_checkpoint` writes to a temporary file in the target folder, flushes
  and fsyncs it, and only then renames it over the target, so the path always holds
  either the previous checkpoint or the new one, never half of one.
* :func:`load_checkpoint` always loads with ``weights_only=True`` and
  ``map_location="cpu"``, so a file that needs code to unpickle is refused and a
  checkpoint written on a GPU machine loads on a CPU-only one.
* Both store and restore the random number generators (torch CPU and CUDA, Python's
  ``random``, NumPy's global generator, and any named ``torch.Generator`` such as a
  DataLoader's), which is what makes a resumed run bit-identical to a straight one.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import random
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from pttour.errors import (
    ArchitectureMismatchError,
    CheckpointError,
    CheckpointNotFoundError,
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

# Exact types (not subclasses: an IntEnum or a namedtuple pickles as a global that
# weights_only refuses) that torch's weights-only unpickler rebuilds without running code.
_METADATA_LEAVES = (type(None), bool, int, float, str)
_STATE_LEAVES = (
    *_METADATA_LEAVES,
    complex,
    bytes,
    bytearray,
    torch.Size,
    torch.dtype,
    torch.device,
)
_STATE_CONTAINERS = (dict, collections.OrderedDict, collections.Counter, list, tuple, set)
_ALLOWED_METADATA = "str, int, float, bool, None, lists, tuples, dicts with str keys and tensors"


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` read besides the states it restored in place.

    The model, optimizer and other objects are restored into the instances you pass
    in; what is left to hand back is where the file was, which epoch it ended and the
    metadata you stored with it (tensors in it are on the CPU).

    >>> ckpt = Checkpoint(Path("runs/epoch-0003.pt"), epoch=3, metadata={"loss": 0.25})
    >>> ckpt.epoch, ckpt.metadata["loss"], ckpt.path.name
    (3, 0.25, 'epoch-0003.pt')

    Parameters
    ----------
    path
        The file that was loaded.
    epoch
        The ``epoch`` given to :func:`save_checkpoint`, or None if none was given.
    metadata
        The ``metadata`` given to :func:`save_checkpoint` (an empty dict if none).
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

    Saving with a bare ``torch.save(obj, path)`` truncates the old file first, so a
    crash or a full disk during the write leaves no usable checkpoint at all. Here the
    data go to a hidden temporary file in the same folder, which is flushed and
    fsynced before it atomically replaces ``path`` (and the folder is fsynced so the
    rename itself survives a power cut). Any failure removes the temporary file and
    leaves the previous checkpoint untouched. Everything stored is checked to load
    with ``weights_only=True``, so the file can later be loaded without trusting it.

    Stored: the model's ``state_dict``; those of the optimizer, scheduler and
    gradient scaler when given; ``epoch``; ``metadata``; the RNG states (torch CPU,
    every CUDA device once this process has used CUDA, Python ``random``, NumPy's
    global generator when NumPy is installed) and the state of each named generator.

    >>> import tempfile
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(3, 1)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = save_checkpoint(
    ...     Path(tmp.name) / "runs" / "epoch-0001.pt",  # "runs" is created
    ...     model,
    ...     optimizer,
    ...     epoch=1,
    ...     metadata={"loss": 0.25, "note": "first try"},
    ... )
    >>> path.relative_to(tmp.name).as_posix(), path.is_file()
    ('runs/epoch-0001.pt', True)
    >>> sorted(p.name for p in path.parent.iterdir())  # no temporary file left behind
    ['epoch-0001.pt']
    >>> tmp.cleanup()

    Parameters
    ----------
    path
        Where to write, a ``str`` or ``Path``; missing parent folders are created and an
        existing file is replaced only once the new one is complete.
    model
        The module whose ``state_dict()`` is saved.
    optimizer, scheduler, scaler
        Optional objects with ``state_dict()`` (an optimizer, an LR scheduler, a
        ``torch.amp.GradScaler``).
    epoch
        The number of completed epochs (an ``int`` >= 0), or None.
    metadata
        Small facts to keep with the weights (loss, config, git hash...). Only
        str, int, float, bool, None, lists, tuples, dicts with str keys and tensors.
    generators
        Named ``torch.Generator`` objects to save, e.g. ``{"loader": loader.generator}``;
        a DataLoader's shuffling order depends on its generator.

    Returns
    -------
    pathlib.Path
        ``path`` as a ``Path``.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module``; if ``metadata`` (or a state dict) holds a value that ``weights_only=True`` could
        not load, naming where it is and its type; if ``epoch`` is not an int; if a
        generator is not a ``torch.Generator``.
    ValueError
        If ``epoch`` is negative.
    IsADirectoryError
        If ``path`` is an existing folder.
    """
    path = Path(path)
    _check_model(model)
    payload = _build_payload(model, optimizer, scheduler, scaler, epoch, metadata, generators)
    if path.is_dir():
        raise IsADirectoryError(
            f"cannot save a checkpoint to {str(path)!r}: it is a folder. Give a file path, "
            f"e.g. checkpoint_path({str(path)!r}, epoch)."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
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

    The file is read with ``torch.load(path, map_location="cpu", weights_only=True)``:
    ``weights_only`` refuses any pickle that would import and call code (before torch
    2.6 plain ``torch.load`` would run it), and ``map_location="cpu"`` lets a
    checkpoint written on a GPU load on a machine without one; ``load_state_dict``
    then copies every tensor onto the device the model already lives on. Everything
    is checked before anything is changed: a file that is missing, corrupt, unsafe or
    for another architecture raises a specific error and leaves your objects as they
    were.

    With ``restore_rng`` the global RNG states are restored too: torch CPU, Python
    ``random``, NumPy (when both the file and this environment have it) and CUDA.
    CUDA states are restored only when CUDA is available and sees as many devices as
    the saving process did; otherwise (e.g. loading a GPU run on a laptop) they are
    skipped silently, since there is no CUDA generator to restore them into.
    Generators passed in ``generators`` are always restored.

    >>> import tempfile
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> saved = torch.nn.Linear(3, 1)
    >>> path = save_checkpoint(Path(tmp.name) / "ck.pt", saved, epoch=4, metadata={"loss": 0.5})
    >>> fresh = torch.nn.Linear(3, 1)  # different random initial weights
    >>> torch.equal(fresh.weight, saved.weight)
    False
    >>> ckpt = load_checkpoint(path, fresh)
    >>> torch.equal(fresh.weight, saved.weight), ckpt.epoch, ckpt.metadata
    (True, 4, {'loss': 0.5})
    >>> load_checkpoint(path, torch.nn.Linear(3, 2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pttour.errors.ArchitectureMismatchError: checkpoint '...ck.pt' does not fit the model ...
    >>> tmp.cleanup()

    Parameters
    ----------
    path
        The checkpoint file, a ``str`` or ``Path``.
    model
        The module to load the weights into; it must have the saved architecture.
    optimizer, scheduler, scaler
        Objects to restore; each must have been saved in the checkpoint.
    generators
        Named ``torch.Generator`` objects to restore, e.g. ``{"loader": loader.generator}``;
        each name must have been saved.
    restore_rng
        Whether to restore the global RNG states (default True).

    Returns
    -------
    Checkpoint
        The path, the epoch and the metadata.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module``.
    CheckpointNotFoundError
        If there is no file at ``path``.
    UnsafeCheckpointError
        If unpickling the file would run code; it was not loaded.
    CorruptCheckpointError
        If the file is truncated, corrupt or not a pttour checkpoint.
    ArchitectureMismatchError
        If the saved weights do not fit ``model``: missing keys, unexpected keys and
        shape mismatches are all listed.
    CheckpointError
        If an optimizer, scheduler, scaler or generator is asked for that the
        checkpoint does not hold, or its saved state does not fit the object passed.
    """
    path = Path(path)
    _check_model(model)
    payload = _read_payload(path)

    # Check everything first, so a failure leaves every object as it was.
    model_state = payload["model"]
    _check_architecture(path, model_state, model)
    requested = {"optimizer": optimizer, "scheduler": scheduler, "scaler": scaler}
    for name, target in requested.items():
        if target is not None and payload.get(name) is None:
            raise CheckpointError(
                f"checkpoint {str(path)!r} holds no {name} state, but a {name} was passed to "
                f"load_checkpoint. Save it with save_checkpoint(..., {name}=...) or do not "
                f"pass one when loading."
            )
    if optimizer is not None:
        _check_optimizer(path, payload["optimizer"], optimizer)
    generators = generators or {}
    _check_generators(path, payload.get("generators") or {}, generators)

    try:
        model.load_state_dict(model_state)
    except RuntimeError as err:  # a module's own checks, beyond keys and shapes
        raise ArchitectureMismatchError(
            f"checkpoint {str(path)!r} does not fit the model ({type(model).__name__}): {err}"
        ) from err
    for name, target in requested.items():
        if target is None:
            continue
        try:
            target.load_state_dict(payload[name])
        except (KeyError, ValueError, RuntimeError, TypeError) as err:
            raise CheckpointError(
                f"checkpoint {str(path)!r}: the saved {name} state does not fit the {name} "
                f"passed ({type(target).__name__}): {err}"
            ) from err
    for name, generator in generators.items():
        generator.set_state(payload["generators"][name]["state"])
    if restore_rng:
        _restore_rng(payload.get("rng") or {})
    return Checkpoint(path=path, epoch=payload.get("epoch"), metadata=payload.get("metadata") or {})


def checkpoint_path(folder: str | os.PathLike[str], epoch: int) -> Path:
    """Return the conventional file name for the checkpoint taken after ``epoch``.

    Zero-padded names (``epoch-0010.pt``) sort in epoch order, and
    :func:`latest_checkpoint` finds the newest one by parsing them.

    >>> checkpoint_path("runs", 7).as_posix()
    'runs/epoch-0007.pt'

    Parameters
    ----------
    folder
        The folder that holds the checkpoints.
    epoch
        The number of completed epochs, an ``int`` >= 0.

    Raises
    ------
    TypeError
        If ``epoch`` is not an ``int``.
    ValueError
        If ``epoch`` is negative.
    """
    if epoch is None:
        raise TypeError("epoch must be an int >= 0, got None; pass the number of completed epochs.")
    _check_epoch(epoch)
    return Path(folder) / f"epoch-{epoch:04d}.pt"


def latest_checkpoint(folder: str | os.PathLike[str]) -> Path | None:
    """Return the checkpoint with the highest epoch in ``folder``, or None if there is none.

    Resuming should pick the newest complete checkpoint. Only names that
    :func:`checkpoint_path` produces count (``epoch-NNNN.pt``), compared by their
    number, not their modification time; the hidden ``.tmp`` files that an
    interrupted save may leave behind and any other files are ignored.

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for name in ["epoch-0009.pt", "epoch-0010.pt", ".epoch-0011.pt.x1y2.tmp", "notes.txt"]:
    ...     _ = (Path(tmp.name) / name).write_bytes(b"")
    >>> latest_checkpoint(tmp.name).name
    'epoch-0010.pt'
    >>> latest_checkpoint(Path(tmp.name) / "missing") is None
    True
    >>> tmp.cleanup()

    Parameters
    ----------
    folder
        The folder to search; it need not exist.

    Raises
    ------
    NotADirectoryError
        If ``folder`` exists but is a file.
    """
    folder = Path(folder)
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise NotADirectoryError(
            f"{str(folder)!r} is a file, not a folder of checkpoints; pass the folder that "
            f"holds the epoch-NNNN.pt files."
        )
    best: tuple[int, Path] | None = None
    for entry in folder.iterdir():
        match = _EPOCH_FILE.fullmatch(entry.name)
        if match is None or not entry.is_file():
            continue
        epoch = int(match.group(1))
        if best is None or epoch > best[0]:
            best = (epoch, entry)
    return None if best is None else best[1]


# --------------------------------------------------------------------------- saving


def _build_payload(
    model: torch.nn.Module,
    optimizer: Any,
    scheduler: Any,
    scaler: Any,
    epoch: int | None,
    metadata: dict | None,
    generators: dict[str, torch.Generator] | None,
) -> dict[str, Any]:
    """Collect everything to store and check that weights_only=True can load it back."""
    _check_epoch(epoch)
    metadata = {} if metadata is None else metadata
    if type(metadata) is not dict:
        raise TypeError(
            f"metadata must be a dict with str keys, got {type(metadata).__name__}; "
            f"wrap the value, e.g. metadata={{'value': ...}}."
        )
    _check_metadata(metadata, "metadata")
    payload: dict[str, Any] = {
        "format": _FORMAT,
        "version": _VERSION,
        "torch_version": str(torch.__version__),
        "epoch": epoch,
        "metadata": metadata,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "scaler": None if scaler is None else scaler.state_dict(),
        "generators": _generator_states(generators or {}),
        "rng": _rng_states(),
    }
    for name in ("model", "optimizer", "scheduler", "scaler"):
        _check_loadable(payload[name], name)
    return payload


def _check_model(model: object) -> None:
    if not isinstance(model, torch.nn.Module):
        hint = " (a state dict?)" if isinstance(model, dict) else ""
        raise TypeError(
            f"model must be a torch.nn.Module, got {type(model).__name__}{hint}; pass the "
            f"module itself, e.g. save_checkpoint(path, model), not model.state_dict()."
        )


def _check_epoch(epoch: object) -> None:
    if epoch is None:
        return
    if type(epoch) is not int:
        raise TypeError(
            f"epoch must be an int >= 0 or None, got {epoch!r} ({type(epoch).__name__}); "
            f"pass int(epoch)."
        )
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}; count completed epochs from 0.")


def _check_metadata(value: object, where: str) -> None:
    """Raise TypeError naming the first value that is not a plain, safely loadable type."""
    if type(value) in _METADATA_LEAVES or type(value) in (torch.Tensor, torch.nn.Parameter):
        return
    if type(value) in (list, tuple):
        for index, item in enumerate(value):
            _check_metadata(item, f"{where}[{index}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(
                    f"{where} has the key {key!r} of type {type(key).__name__}; metadata dicts "
                    f"need str keys. Use str(key)."
                )
            _check_metadata(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}; checkpoint "
        f"metadata may hold only {_ALLOWED_METADATA}, so that it loads with "
        f"weights_only=True. Convert it first, e.g. with str(), int(), list() or dict()."
    )


def _check_loadable(value: object, where: str) -> None:
    """Raise TypeError if a state dict holds something weights_only=True would refuse."""
    kind = type(value)
    if kind in _STATE_LEAVES or isinstance(value, torch.Tensor):
        return
    if kind in _STATE_CONTAINERS:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict):
                _check_loadable(key, f"{where} key {key!r}")
            _check_loadable(item, f"{where}[{key!r}]")
        return
    if kind in _user_safe_globals():
        return
    raise TypeError(
        f"{where} holds a {kind.__module__}.{kind.__qualname__}, which torch.load(..., "
        f"weights_only=True) cannot rebuild, so the checkpoint could not be loaded safely. "
        f"Store a plain value instead, or allowlist the type with "
        f"torch.serialization.add_safe_globals([{kind.__qualname__}])."
    )


def _user_safe_globals() -> set[type]:
    getter = getattr(torch.serialization, "get_safe_globals", None)
    if getter is None:
        return set()
    return {item for item in getter() if isinstance(item, type)}


def _generator_states(generators: dict[str, torch.Generator]) -> dict[str, dict[str, Any]]:
    if type(generators) is not dict:
        raise TypeError(
            f"generators must be a dict of name -> torch.Generator, got "
            f"{type(generators).__name__}; e.g. generators={{'loader': loader.generator}}."
        )
    states = {}
    for name, generator in generators.items():
        if type(name) is not str or not isinstance(generator, torch.Generator):
            raise TypeError(
                f"generators must map str names to torch.Generator objects, got "
                f"{name!r}: {type(generator).__name__}; e.g. {{'loader': loader.generator}}."
            )
        states[name] = {"device": str(generator.device), "state": generator.get_state()}
    return states


def _rng_states() -> dict[str, Any]:
    """The global RNG states, as tensors and plain values that weights_only can load."""
    version, internal, gauss_next = random.getstate()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": {
            "version": version,
            "state": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }
    # Only a process that has used CUDA has CUDA random state beyond its seed (which a
    # resumed run re-applies with torch.manual_seed); asking an unused CUDA for it would
    # create a context, and its memory, on every GPU just to save a checkpoint.
    if torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    numpy_state = _numpy_rng_state()
    if numpy_state is not None:
        states["numpy"] = numpy_state
    return states


def _numpy_rng_state() -> dict[str, Any] | None:
    try:
        import numpy as np  # optional: pttour itself needs only torch
    except ImportError:
        return None
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    return {
        "bit_generator": str(name),
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached_gaussian),
    }


def _atomic_torch_save(payload: dict[str, Any], path: Path) -> None:
    """torch.save to a temporary sibling, fsync it, rename it over ``path``, fsync the folder."""
    mode = _file_mode(path)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by the with below
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    temporary = Path(handle.name)
    try:
        with handle:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the name points at them
        temporary.replace(path)  # os.replace: atomic on POSIX and Windows
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _file_mode(path: Path) -> int | None:
    """The permission bits a plain ``open(path, "w")`` would give (temporary files get 0o600)."""
    with contextlib.suppress(OSError):
        return path.stat().st_mode & 0o777  # keep the mode of the file being replaced
    if os.name != "posix":
        return None
    with contextlib.suppress(OSError, ValueError):
        # Reading the umask via os.umask() would briefly change it for every thread.
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    return None


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; Windows cannot open a folder, and its NTFS journals renames."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --------------------------------------------------------------------------- loading


def _read_payload(path: Path) -> dict[str, Any]:
    """torch.load the file safely and turn every way it can fail into a specific error."""
    if not path.exists():
        raise CheckpointNotFoundError(
            f"no checkpoint at {str(path)!r}: the file does not exist. Check the path, or use "
            f"latest_checkpoint(folder) to find the newest one (None means start from scratch)."
        )
    if path.is_dir():
        raise CheckpointNotFoundError(
            f"no checkpoint at {str(path)!r}: it is a folder. Pass a file, e.g. "
            f"latest_checkpoint({str(path)!r})."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointNotFoundError(f"no checkpoint at {str(path)!r}: {err}") from err
    except pickle.UnpicklingError as err:
        refused = _refused_global(err)
        if refused is not None:
            raise UnsafeCheckpointError(
                f"checkpoint {str(path)!r} was not loaded: unpickling it would import and call "
                f"{refused}, i.e. loading it would run code, which weights_only=True refuses. "
                f"A pttour checkpoint never needs that. Only ever load a file with "
                f"weights_only=False if you trust whoever made it."
            ) from err
        raise _corrupt(path, err) from err
    except PermissionError:
        raise  # the file may be fine; the fix is access rights, not another checkpoint
    except Exception as err:  # truncated zip (torch may say OSError), bad magic, EOF, ...
        raise _corrupt(path, err) from err

    if type(payload) is not dict or payload.get("format") != _FORMAT:
        found = (
            f"a dict with the keys {sorted(map(str, payload))[:8]}"
            if isinstance(payload, dict)
            else f"a {type(payload).__name__}"
        )
        raise CorruptCheckpointError(
            f"{str(path)!r} is a torch file but not a pttour checkpoint: it holds {found}, not "
            f"a dict with 'format': {_FORMAT!r}. A bare state_dict loads with "
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


def _refused_global(err: pickle.UnpicklingError) -> str | None:
    """Name what the weights-only unpickler refused to import or call; None when the bytes
    were simply unreadable (an unknown opcode means garbage, not a refusal)."""
    # torch re-raises the unpickler's own error with a long generic preface; read the
    # original message where it is kept.
    inner = err.__context__ if isinstance(err.__context__, pickle.UnpicklingError) else err
    text = str(inner)
    match = re.search(r"GLOBAL (\S+)", text)
    if match is not None:
        return match.group(1)
    if "allowlist" in text or "unrecognized function" in text:
        return "an object that is not on torch's weights-only allowlist"
    return None


def _corrupt(path: Path, err: BaseException) -> CorruptCheckpointError:
    size = path.stat().st_size if path.exists() else 0
    return CorruptCheckpointError(
        f"checkpoint {str(path)!r} ({size} bytes) is truncated, corrupt or not a torch "
        f"checkpoint at all, so it cannot be loaded ({type(err).__name__}: "
        f"{_first_line(err)}). Load an earlier checkpoint, e.g. one found by latest_checkpoint()."
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "no message"


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
    if missing:
        lines.append(f"  missing keys (in the model, not in the checkpoint): {', '.join(missing)}")
    if unexpected:
        lines.append(
            f"  unexpected keys (in the checkpoint, not in the model): {', '.join(unexpected)}"
        )
    if mismatched:
        lines.append(f"  shape mismatches: {'; '.join(mismatched)}")
    lines.append(_wrapper_hint(missing, unexpected))
    raise ArchitectureMismatchError("\n".join(lines))


def _wrapper_hint(missing: list[str], unexpected: list[str]) -> str:
    for prefix, wrapper in (("module.", "DataParallel/DistributedDataParallel"),
                            ("_orig_mod.", "torch.compile")):  # fmt: skip
        if unexpected and all(key.startswith(prefix) for key in unexpected):
            return (
                f"The checkpoint's keys start with {prefix!r}: it was saved from a {wrapper} "
                f"wrapper. Save the inner model instead, or load into the same wrapper."
            )
        if missing and all(key.startswith(prefix) for key in missing):
            return (
                f"The model's keys start with {prefix!r}: it is wrapped by {wrapper}. Load "
                f"into the inner model instead."
            )
    return "Build the model with the same layers, names and sizes as the one that was saved."


def _check_optimizer(path: Path, saved: dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
    saved_sizes = [len(group.get("params", ())) for group in saved.get("param_groups", ())]
    sizes = [len(group["params"]) for group in optimizer.param_groups]
    if saved_sizes != sizes:
        raise CheckpointError(
            f"checkpoint {str(path)!r}: the saved optimizer has parameter groups of sizes "
            f"{saved_sizes}, the optimizer passed has {sizes}. Create the optimizer from the "
            f"same model parameters, in the same groups, as when it was saved."
        )


def _check_generators(
    path: Path, saved: dict[str, Any], generators: dict[str, torch.Generator]
) -> None:
    for name, generator in generators.items():
        if name not in saved:
            raise CheckpointError(
                f"checkpoint {str(path)!r} holds no generator named {name!r} (it holds "
                f"{sorted(saved)}). Save it with save_checkpoint(..., generators={{{name!r}: g}})."
            )
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                f"generators[{name!r}] is a {type(generator).__name__}, not a torch.Generator."
            )
        saved_device = torch.device(saved[name]["device"]).type
        if saved_device != generator.device.type:
            raise CheckpointError(
                f"checkpoint {str(path)!r}: generator {name!r} was saved from a {saved_device} "
                f"generator and cannot be restored into a {generator.device.type} one. Create "
                f"it with torch.Generator(device={saved_device!r})."
            )


def _restore_rng(states: dict[str, Any]) -> None:
    if "torch" in states:
        torch.set_rng_state(states["torch"])
    if "python" in states:
        python = states["python"]
        random.setstate((python["version"], tuple(python["state"].tolist()), python["gauss_next"]))
    cuda = states.get("cuda")
    # Restorable only where the same number of CUDA devices exists; a CPU-only machine has
    # no CUDA generator to restore into, so the states are skipped (documented above).
    if cuda and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all(cuda)
    if "numpy" in states:
        _restore_numpy_rng(states["numpy"])


def _restore_numpy_rng(state: dict[str, Any]) -> None:
    try:
        import numpy as np
    except ImportError:
        return  # the saving process had NumPy, this one does not: nothing can use that state
    np.random.set_state(
        (
            state["bit_generator"],
            state["keys"].numpy().astype(np.uint32),
            state["pos"],
            state["has_gauss"],
            state["cached_gaussian"],
        )
    )
