"""The exceptions pttour raises where a built-in one would say too little.

Each also derives from the built-in a caller would catch (``FileNotFoundError``, ``ValueError``
...); ``except PttourError`` catches everything the library raises.
"""

from __future__ import annotations

__all__ = [
    "ArchitectureMismatchError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointWriteError",
    "CorruptCheckpointError",
    "PttourError",
    "UnsafeCheckpointError",
    "UnsupportedEnvironmentError",
]


class PttourError(Exception):
    """Base class of every error raised by pttour.

    >>> issubclass(CheckpointError, PttourError)
    True
    """


class UnsupportedEnvironmentError(PttourError, RuntimeError):
    """The Python or torch in use is older than pttour supports.

    >>> str(UnsupportedEnvironmentError("torch 2.1.0 is older than 2.6"))
    'torch 2.1.0 is older than 2.6'
    """


class CheckpointError(PttourError):
    """Base class of the errors raised while saving or loading a checkpoint.

    >>> issubclass(CorruptCheckpointError, CheckpointError)
    True
    """


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No checkpoint exists at the given path.

    >>> issubclass(CheckpointNotFoundError, FileNotFoundError)
    True
    """


class CheckpointWriteError(CheckpointError, OSError):
    """A checkpoint could not be written (disk or quota full, no permission, a file in the way).

    The message names the path and the cause; ``errno`` is the system's; any previous file stays.

    >>> import errno
    >>> err = CheckpointWriteError(errno.ENOSPC, "checkpoint 'ck.pt' was not saved: disk full")
    >>> err.errno == errno.ENOSPC, isinstance(err, OSError)
    (True, True)
    """


class CorruptCheckpointError(CheckpointError, ValueError):
    """The file exists but is truncated, corrupt or not a pttour checkpoint.

    >>> issubclass(CorruptCheckpointError, ValueError)
    True
    """


class UnsafeCheckpointError(CheckpointError):
    """The file holds objects that only an unsafe, code-running load could rebuild.

    >>> issubclass(UnsafeCheckpointError, CheckpointError)
    True
    """


class ArchitectureMismatchError(CheckpointError, ValueError):
    """The checkpoint's state dict does not fit the model: missing, unexpected or misshaped keys.

    >>> issubclass(ArchitectureMismatchError, ValueError)
    True
    """
