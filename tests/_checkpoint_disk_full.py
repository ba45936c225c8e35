"""A save that cannot complete, for the checkpoint fault tests; it prints one JSON line.

Run as ``python _checkpoint_disk_full.py FOLDER MODE``: it saves a small checkpoint to
``FOLDER/ck.pt``, makes the next save impossible, saves a larger model there, and reports what
``save_checkpoint`` raised and whether the first checkpoint still loads. ``MODE`` is

``full``
    FOLDER is a small file system (the test mounts a tmpfs) or this process may write only
    small files (the test sets ``RLIMIT_FSIZE``): the larger save runs out of room.
``readonly``
    FOLDER is a tmpfs that this script remounts read-only before the second save.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from pttour import CheckpointWriteError, load_checkpoint, save_checkpoint


def main(folder: Path, mode: str) -> None:
    path = save_checkpoint(folder / "ck.pt", torch.nn.Linear(4, 4), epoch=1)
    if mode == "readonly":
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    report: dict[str, object] = {"path": str(path)}
    try:
        save_checkpoint(path, torch.nn.Linear(1024, 1024), epoch=2)  # 4 MiB of weights
    except CheckpointWriteError as err:
        report.update(error=type(err).__name__, errno=err.errno, message=str(err))
    report["previous_epoch"] = load_checkpoint(path, torch.nn.Linear(4, 4)).epoch
    report["files"] = sorted(p.name for p in folder.iterdir())
    print(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
