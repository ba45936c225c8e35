"""What a durable pttour.save_checkpoint costs next to the bare minimum (a benchmark, not a test).

Run it with ``python tests/bench_save_checkpoint.py [ROUNDS] [FOLDER]``. It builds a model of
about 200 MB with Adam state (about 600 MB on disk) and saves it, round after round, in
three ways, side by side in one process and in the same folder:

* ``torch.save(path)``: to a temporary file by name, then ``fsync`` and ``os.replace``;
* ``torch.save(file)``: to an open temporary file, ``flush``, ``fsync``, ``os.replace``;
* ``pttour``: :func:`pttour.save_checkpoint`, which also checks that the data load with
  ``weights_only=True``, stores the random states, and fsyncs the folder.

The order of the three changes every round, so that none always runs on a warm or cold
disk cache. It prints every timing, the median of each, the ratio of pttour's median to
the faster baseline's, and the median of the per-round ratios (pttour against the faster
baseline of the same round), which is less sensitive to a disk shared with other work.
Nothing is asserted: timings depend on the machine.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

import pttour


def _baseline_by_name(payload: dict, path: Path) -> None:
    temporary = path.with_name(f"tmp-{path.name}")  # torch.save refuses a name starting with "."
    torch.save(payload, temporary)
    descriptor = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    temporary.replace(path)


def _baseline_by_file(payload: dict, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def main(rounds: int = 7, folder: str | None = None) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(*(torch.nn.Linear(2048, 2048) for _ in range(12)))
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 2048)).sum().backward()
    optimizer.step()  # Adam now holds two moments per parameter
    megabytes = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6
    with tempfile.TemporaryDirectory(dir=folder) as where:
        target = Path(where)
        ways = {
            "torch.save(path)": lambda: _baseline_by_name(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict()},
                target / "by-name.pt",
            ),
            "torch.save(file)": lambda: _baseline_by_file(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict()},
                target / "by-file.pt",
            ),
            "pttour": lambda: pttour.save_checkpoint(target / "pttour.pt", model, optimizer),
        }
        timings: dict[str, list[float]] = {name: [] for name in ways}
        names = list(ways)
        for round_index in range(rounds):
            order = names[round_index % 3 :] + names[: round_index % 3]
            for name in order:
                start = time.perf_counter()
                ways[name]()
                timings[name].append(time.perf_counter() - start)
        size = (target / "pttour.pt").stat().st_size / 1e6
    print(f"model {megabytes:.0f} MB of parameters, checkpoint {size:.0f} MB, {rounds} rounds")
    print(f"torch {torch.__version__}, folder {folder or tempfile.gettempdir()}")
    medians = {}
    for name, values in timings.items():
        medians[name] = statistics.median(values)
        shown = " ".join(f"{value:.2f}" for value in values)
        print(f"{name:<17} median {medians[name]:.3f} s   [{shown}]")
    fastest = min(medians["torch.save(path)"], medians["torch.save(file)"])
    print(f"pttour / fastest baseline, medians: {medians['pttour'] / fastest:.3f}")
    per_round = [
        mine / min(by_name, by_file)
        for mine, by_name, by_file in zip(
            timings["pttour"], timings["torch.save(path)"], timings["torch.save(file)"], strict=True
        )
    ]
    print(f"pttour / fastest baseline, median of the rounds: {statistics.median(per_round):.3f}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(int(arguments[0]) if arguments else 7, arguments[1] if len(arguments) > 1 else None)
