"""A checkpoint writer for the kill-during-save test: it saves in a loop until killed.

Run as ``python _checkpoint_saver.py PATH``. It reads commands from stdin:

``save START``
    fork a child that saves checkpoints to PATH forever, with epochs START, START + 1,
    ..., every parameter set to the epoch number, and writes ``saved EPOCH`` after each
    save has returned. The parent writes ``child PID`` first and ``reaped STATUS`` (the
    raw ``os.waitpid`` status) once the child is gone; the test kills the child.
``quit``
    exit.

Forking each writer from this small process keeps the cost of importing torch to once per
test. The test starts it with ``OMP_NUM_THREADS=1`` and ``OPENBLAS_NUM_THREADS=1`` so that it
runs no thread pools: fork() then copies a single-threaded process, which is safe.
"""

from __future__ import annotations

import itertools
import os
import sys
import traceback
from pathlib import Path

import torch

from pttour.checkpoint import save_checkpoint


def _save_forever(path: Path, model: torch.nn.Module, start: int) -> None:
    try:
        for epoch in itertools.count(start):
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter.fill_(float(epoch))
            save_checkpoint(path, model, epoch=epoch, metadata={"epoch": epoch})
            os.write(1, f"saved {epoch}\n".encode())
    except Exception:  # noqa: BLE001 - report any failure; the child must never return
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(1)  # only reached on an error: the test expects death by SIGKILL


def main(path: Path) -> None:
    model = torch.nn.Linear(1024, 1024)  # about 4 MiB of parameters: a save takes milliseconds
    for line in sys.stdin:
        command, *arguments = line.split()
        if command == "quit":
            return
        if command != "save":
            raise ValueError(f"unknown command {line!r}; expected 'save START' or 'quit'")
        pid = os.fork()
        if pid == 0:
            _save_forever(path, model, int(arguments[0]))
        print(f"child {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"reaped {status}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
