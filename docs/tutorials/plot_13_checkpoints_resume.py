"""
Crash-safe checkpoints and exact resume
=======================================

A long run saves a checkpoint after every epoch, so that a crash costs at most
one epoch. Two things can still go wrong: the crash can come *while* the
checkpoint is written, and the resumed run can differ from the run that never
stopped. After reading this page you will be able to:

* write a checkpoint so that a crash during the write keeps the last good one;
* store every random state a run draws from, so that a resumed run continues
  bit for bit;
* use :func:`pttour.save_checkpoint`, :func:`pttour.load_checkpoint` and
  :func:`pttour.latest_checkpoint`, the tested version of both.

**What you need:** PyTorch ≥ 2.6 and pttour. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# A run to checkpoint
# -------------------
#
# The run has every part whose state a checkpoint must keep: the weights, an
# optimizer (Adam keeps running averages), a learning-rate scheduler, a
# shuffling loader with its own generator, and dropout, which draws random
# numbers at every step. It trains on the CPU; the section on exact resume says
# what an accelerator adds. The files go to a temporary folder, ``root``.

import os
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

workdir = tempfile.TemporaryDirectory()
root = Path(workdir.name)
torch.manual_seed(0)
inputs = torch.randn(64, 2)
dataset = TensorDataset(inputs, inputs @ torch.tensor([[2.0], [-1.0]]) + 0.5)


def build_run(seed: int) -> tuple:
    """A new model, optimizer, scheduler and loader; the initial weights come from ``seed``."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=2, gamma=0.5
    )
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(
        dataset, batch_size=16, shuffle=True, generator=generator
    )
    return model, optimizer, scheduler, loader


def train_epoch(model, optimizer, scheduler, loader) -> None:
    model.train()
    for batch_inputs, batch_targets in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(batch_inputs), batch_targets).backward()
        optimizer.step()
    scheduler.step()


straight = build_run(seed=0)  # the reference: six epochs in one go
for _ in range(6):
    train_epoch(*straight)

# %%
# .. _erratum-e34:
#
# Erratum E34: Checkpoint overwritten in place
# --------------------------------------------
#
# The article writes every new checkpoint straight over the previous one. Here
# a save fails halfway, as a killed process or a full disk would make it fail:


class FailsHalfway:
    def __reduce__(self):  # torch.save calls this while it writes the file
        raise OSError("the save was interrupted")


model, in_place = straight[0], root / "checkpoint.pth"
torch.save(
    {"epoch": 5, "model": model.state_dict()}, in_place
)  # the last good one
try:
    torch.save(
        {"epoch": 6, "model": model.state_dict(), "x": FailsHalfway()},
        in_place,
    )
except OSError as err:
    print(f"OSError: {err}")
try:
    torch.load(in_place, weights_only=True)
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# ``torch.save`` empties the file when it opens it, before it writes a byte, so
# the failed save destroyed the last good checkpoint. Write the new one to a
# temporary file, force its bytes to the disk with ``os.fsync``, and only then
# swap it in with ``os.replace``, which renames in one step: the path always
# holds one whole checkpoint, the old or the new. The temporary file must be in
# the same folder: ``os.replace`` cannot move a file to another file system,
# and raises ``OSError`` instead (:ref:`E34 on the errata page <e34>`).


def save_atomically(obj: object, path: Path) -> None:
    """Save to a temporary file beside ``path``, then swap it in with one rename."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)  # os.replace: one rename, never half a file
    finally:
        temporary.unlink(
            missing_ok=True
        )  # after a failure, nothing is left behind


path = root / "atomic.pth"
save_atomically({"epoch": 5, "model": model.state_dict()}, path)
try:
    save_atomically(
        {"epoch": 6, "model": model.state_dict(), "x": FailsHalfway()}, path
    )
except OSError as err:
    print(f"OSError: {err}")
print(f"still loads: epoch {torch.load(path, weights_only=True)['epoch']}")
print(
    f"files: {sorted(p.name for p in root.iterdir() if p.name.startswith('atomic'))}"
)

# %%
# .. _erratum-e37:
#
# Erratum E37: Resuming is not exact
# ----------------------------------
#
# The article's checkpoint holds the epoch, the model and the optimizer. Here
# the scheduler is saved too, so that only the random state is missing. The run
# stops after three epochs, and a new run, built as a new process would build
# it, resumes to six:


def stop_after_three_epochs() -> tuple:
    run = build_run(seed=0)
    for _ in range(3):
        train_epoch(*run)
    return run


def resume(checkpoint: dict) -> tuple:
    """A new run, with different initial weights, given the states stored in ``checkpoint``."""
    run = build_run(seed=123)
    for part, name in zip(
        run[:3], ["model", "optimizer", "scheduler"], strict=True
    ):
        part.load_state_dict(checkpoint[name])
    return run


def same_weights(run: tuple) -> bool:
    pairs = zip(
        run[0].state_dict().values(),
        straight[0].state_dict().values(),
        strict=True,
    )
    return all(torch.equal(a, b) for a, b in pairs)


model, optimizer, scheduler, loader = stop_after_three_epochs()
saved = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
saved["scheduler"] = scheduler.state_dict()
save_atomically(saved, root / "article-style.pth")

resumed = resume(torch.load(root / "article-style.pth", weights_only=True))
for _ in range(3):
    train_epoch(*resumed)
print(f"resumed run == uninterrupted run: {same_weights(resumed)}")

# %%
# The new process starts the loader's generator from its seed again, so epoch
# four is shuffled like epoch one, and dropout draws from a global random state
# that nobody stored. The run still trains, but it is another run: a bug
# becomes hard to reproduce and a comparison between runs unfair. Store the
# random states too: ``torch.get_rng_state()``, used by dropout, and the
# loader's ``generator.get_state()`` (:ref:`E37 on the errata page <e37>`):

model, optimizer, scheduler, loader = stop_after_three_epochs()
saved = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
saved["scheduler"] = scheduler.state_dict()
saved["torch_rng"] = torch.get_rng_state()
saved["loader_rng"] = loader.generator.get_state()
save_atomically(saved, root / "exact.pth")

checkpoint = torch.load(root / "exact.pth", weights_only=True)
resumed = resume(checkpoint)
torch.set_rng_state(checkpoint["torch_rng"])
resumed[3].generator.set_state(checkpoint["loader_rng"])
for _ in range(3):
    train_epoch(*resumed)
print(f"resumed run == uninterrupted run: {same_weights(resumed)}")

# %%
# Store the states of every other generator the run draws from as well:
# Python's ``random`` and NumPy's when your augmentation uses them, and on a
# GPU ``torch.cuda.get_rng_state_all()``. Bit-for-bit results on a GPU also
# need deterministic kernels: ``torch.use_deterministic_algorithms(True)``.
#
# The tested version: pttour's checkpoint functions
# --------------------------------------------------
#
# :func:`pttour.save_checkpoint` does all of the above: it writes atomically,
# stores the state dicts, the epoch, your metadata, the states of torch (CPU
# and CUDA), ``random`` and NumPy, and of the generators you name.
# :func:`pttour.load_checkpoint` loads with ``weights_only=True`` and
# ``map_location="cpu"``, checks that the file fits your objects before it
# changes any of them, and restores everything in place.
# :func:`pttour.latest_checkpoint` finds the newest file that
# :func:`pttour.checkpoint_path` named. This is the loop to write:

import pttour


def train_with_checkpoints(folder: Path, last_epoch: int, seed: int) -> tuple:
    """Train until ``last_epoch``, resuming from the newest checkpoint in ``folder``."""
    model, optimizer, scheduler, loader = run = build_run(seed)
    generators = {"loader": loader.generator}
    done = 0
    latest = pttour.latest_checkpoint(folder)
    if latest is not None:
        done = pttour.load_checkpoint(
            latest,
            model,
            optimizer,
            scheduler=scheduler,
            generators=generators,
        ).epoch
        print(f"resuming from {latest.name}")
    for epoch in range(done + 1, last_epoch + 1):
        train_epoch(*run)
        pttour.save_checkpoint(
            pttour.checkpoint_path(folder, epoch),
            model,
            optimizer,
            scheduler=scheduler,
            epoch=epoch,
            generators=generators,
        )
    return run


# %%
# The first call trains three epochs and saves each one; then "the process
# stops". The second call builds a new run, even from another seed, finds
# ``epoch-0003.pt`` and continues to six:

train_with_checkpoints(root / "runs", last_epoch=3, seed=0)
resumed = train_with_checkpoints(root / "runs", last_epoch=6, seed=123)
print(f"resumed run == uninterrupted run: {same_weights(resumed)}")
print(f"checkpoints: {sorted(p.name for p in (root / 'runs').iterdir())}")

# %%
# A file that cannot be used is refused, before anything is changed, with an
# error that names it: here the checkpoint that the failed save above left half
# written.

try:
    pttour.load_checkpoint(in_place, build_run(seed=1)[0])
except pttour.CorruptCheckpointError as err:
    print(f"CorruptCheckpointError: {err}".replace(str(root), "<root>"))

# %%
# Takeaways
# ---------
#
# * Never write a checkpoint over the last good one: save to a temporary file
#   in the same folder, ``flush`` and ``os.fsync`` it, then ``os.replace`` it
#   onto the final name.
# * Store every random state the run draws from, the loader's generator
#   included, and restore them when resuming: the run then continues bit for
#   bit.
# * :func:`pttour.save_checkpoint`, :func:`pttour.load_checkpoint` and
#   :func:`pttour.latest_checkpoint` are the tested version of both.

workdir.cleanup()
