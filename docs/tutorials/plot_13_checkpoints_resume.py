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
* keep one checkpoint per epoch, and find the newest one to resume from.

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
# what an accelerator adds.

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
    # A new model, optimizer, scheduler and loader; weights from ``seed``.
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2, gamma=0.5)
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(dataset, 16, shuffle=True, generator=generator)
    return model, optimizer, scheduler, loader


def train_epoch(model, optimizer, scheduler, loader) -> float:
    model.train()
    total = 0.0
    for batch_inputs, batch_targets in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(batch_inputs), batch_targets)
        loss.backward()
        optimizer.step()
        total += loss.item()
    scheduler.step()
    return total / len(loader)  # the mean over the batches


straight = build_run(seed=0)  # the reference: six epochs in one go
losses = [train_epoch(*straight) for _ in range(6)]
print(f"uninterrupted: {[round(loss, 4) for loss in losses]}")

# %%
# A save that a crash cannot destroy
# ----------------------------------
#
# ``torch.save(obj, path)`` empties the file when it opens it, before it writes
# a byte: if the process dies during the write, the last good checkpoint is
# gone too. Write the new one to a temporary file instead, force its bytes to
# the disk with ``os.fsync``, and only then swap it in with ``os.replace``,
# which renames in one step: the path always holds one whole checkpoint, the
# old or the new. The temporary file must be in the same folder, since
# ``os.replace`` cannot move a file to another file system.
#
# The rename itself is written in the folder. Until the folder is fsynced too,
# a power cut right after the save can bring the old file back. Linux and
# macOS let you open a folder and fsync it; Windows does not, and records
# renames in its journal.

import os


def save_atomically(obj: object, path: Path) -> None:
    # Save to a file beside ``path``, then swap it in with one rename.
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on the disk
        temporary.replace(path)  # one rename: never half a file
    finally:
        temporary.unlink(missing_ok=True)  # nothing left after a failure
    if os.name == "posix":  # the rename is on the disk too
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


# %%
# To try it, a save must fail halfway, as a killed process or a full disk would
# make it fail: ``torch.save`` calls ``__reduce__`` on each object while it
# writes, and this one raises.


class FailsHalfway:
    def __reduce__(self):
        raise OSError("the save was interrupted")


model = straight[0]
path = root / "atomic.pt"
save_atomically({"epoch": 5, "model": model.state_dict()}, path)
try:
    save_atomically({"epoch": 6, "x": FailsHalfway()}, path)
except OSError as err:
    print(f"OSError: {err}")
print(f"still loads: epoch {torch.load(path, weights_only=True)['epoch']}")
print(f"files: {sorted(p.name for p in root.iterdir())}")

# %%
# Exact resume: store the random states
# -------------------------------------
#
# A resumed run starts in a new process, which builds a new run. To continue
# *exactly*, it needs every state the old run had: the state dicts of the
# model, the optimizer and the scheduler, and the random states, which
# decide the next shuffling order and the next dropout masks:
# ``torch.get_rng_state()`` for dropout, and the loader's
# ``generator.get_state()``. Here the run stops after three epochs:

first_half = build_run(seed=0)
for _ in range(3):
    train_epoch(*first_half)
model, optimizer, scheduler, loader = first_half
saved = {
    "model": model.state_dict(),
    "optimizer": optimizer.state_dict(),
    "scheduler": scheduler.state_dict(),
    "torch_rng": torch.get_rng_state(),
    "loader_rng": loader.generator.get_state(),
}
save_atomically(saved, root / "exact.pt")

# %%
# A new run, even from another seed, loads all of it and trains the last three
# epochs. Its losses are those of the run that never stopped, and so are its
# weights:


def same_weights(run: tuple) -> bool:
    ours, reference = run[0].state_dict(), straight[0].state_dict()
    return all(torch.equal(ours[k], reference[k]) for k in reference)


checkpoint = torch.load(root / "exact.pt", weights_only=True)
model, optimizer, scheduler, loader = resumed = build_run(seed=123)
model.load_state_dict(checkpoint["model"])
optimizer.load_state_dict(checkpoint["optimizer"])
scheduler.load_state_dict(checkpoint["scheduler"])
torch.set_rng_state(checkpoint["torch_rng"])
loader.generator.set_state(checkpoint["loader_rng"])
losses = [train_epoch(*resumed) for _ in range(3)]
print(f"resumed, epochs 4-6: {[round(loss, 4) for loss in losses]}")
print(f"same weights as the uninterrupted run: {same_weights(resumed)}")

# %%
# Store the states of every other generator the run draws from as well:
# Python's ``random`` and NumPy's when your augmentation uses them, and on a
# GPU ``torch.cuda.get_rng_state_all()``. Bit-for-bit results on a GPU also
# need deterministic kernels: ``torch.use_deterministic_algorithms(True)``.
#
# One checkpoint per epoch, and the newest
# ----------------------------------------
#
# Keep one file per epoch, so that a bad epoch can be undone. Zero-padded
# numbers, ``folder / f"epoch-{epoch:04d}.pt"``, make the names sort in epoch
# order, and the newest is then ``max(folder.glob("epoch-*.pt"))``.
#
# :func:`pttour.checkpoint_path` is the tested version of the name, and
# :func:`pttour.latest_checkpoint` of the search: it compares the numbers, not
# the names, ignores temporary files, and can skip a newest file that does
# not open. With :func:`pttour.save_checkpoint` and
# :func:`pttour.load_checkpoint` from
# :ref:`sphx_glr_auto_tutorials_plot_12_saving_loading.py`, which store and
# restore the random states and write atomically, this is the whole loop:

import pttour


def train_with_checkpoints(folder: Path, last_epoch: int, seed: int) -> tuple:
    # Train until ``last_epoch``, resuming from the newest checkpoint.
    model, optimizer, scheduler, loader = run = build_run(seed)
    generators = {"loader": loader.generator}
    extra = {"scheduler": scheduler, "generators": generators}
    done = 0
    latest = pttour.latest_checkpoint(folder)
    if latest is not None:
        done = pttour.load_checkpoint(latest, model, optimizer, **extra).epoch
        print(f"resuming from {latest.name}")
    for epoch in range(done + 1, last_epoch + 1):
        train_epoch(*run)
        path = pttour.checkpoint_path(folder, epoch)
        pttour.save_checkpoint(path, model, optimizer, epoch=epoch, **extra)
    return run


# %%
# The first call trains three epochs and saves each one; then "the process
# stops". The second call builds a new run from another seed, finds
# ``epoch-0003.pt`` and continues to six:

train_with_checkpoints(root / "runs", last_epoch=3, seed=0)
resumed = train_with_checkpoints(root / "runs", last_epoch=6, seed=123)
print(f"same weights as the uninterrupted run: {same_weights(resumed)}")
names = [p.name for p in sorted((root / "runs").iterdir())]
print(f"{len(names)} checkpoints: {names[0]} ... {names[-1]}")

# %%
# Takeaways
# ---------
#
# * Save to a temporary file, fsync it, ``os.replace`` it, fsync the folder.
# * Store and restore every random state the run draws from, the loader's too.
# * Name checkpoints by zero-padded epoch, and resume from the newest.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_14_classification.py` trains a
# classifier from start to end.
#
# What the article got wrong
# --------------------------
#
# This page follows the end of §4.5 "Saving and loading" of the article; the
# :doc:`errata page </errata>` has the full entries.
#
# .. _erratum-e34:
#
# Erratum E34: Checkpoint overwritten in place
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article saves every checkpoint over the last one. A failed save:

in_place = root / "checkpoint.pt"
torch.save({"epoch": 5}, in_place)  # the last good one
try:
    torch.save({"epoch": 6, "x": FailsHalfway()}, in_place)
except OSError as err:
    print(f"OSError: {err}")
try:
    torch.load(in_place, weights_only=True)
except RuntimeError as err:
    print(f"RuntimeError: {str(err).split(':')[0]}")

# %%
# Save atomically, as ``save_atomically`` above does. :ref:`Full entry <e34>`
#
# .. _erratum-e37:
#
# Erratum E37: Resuming is not exact
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article's checkpoint holds no random state. Resumed from such a file,
# the run draws other shuffling orders and dropout masks:

model, optimizer, scheduler, loader = resumed = build_run(seed=123)
model.load_state_dict(checkpoint["model"])
optimizer.load_state_dict(checkpoint["optimizer"])
scheduler.load_state_dict(checkpoint["scheduler"])
for _ in range(3):
    train_epoch(*resumed)
print(f"same weights as the uninterrupted run: {same_weights(resumed)}")

# %%
# Store the random states too, and restore them, as the lesson does.
# :ref:`Full entry <e37>`
#
# .. _erratum-e48:
#
# Erratum E48: The printed loss is a sum over batches
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article prints the sum of an epoch's batch losses as "loss"; it grows
# with the number of batches:

model = straight[0].eval()
for batch_size in (16, 64):
    loader = DataLoader(dataset, batch_size)
    running_loss = 0.0
    with torch.inference_mode():
        for batch_inputs, batch_targets in loader:
            loss = nn.functional.mse_loss(model(batch_inputs), batch_targets)
            running_loss += loss.item()
    mean = running_loss / len(loader)
    print(f"batch size {batch_size}: sum {running_loss:.4f}, mean {mean:.4f}")

# %%
# Divide the sum by the number of batches, as ``train_epoch`` does.
# :ref:`Full entry <e48>`
#
# Exercises
# ---------
#
# Exercise 1 ★: predict which file is the newest
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then write the epoch as
# ``{e:04d}`` and predict again.
#
# .. code-block:: python
#
#    names = [f"epoch-{e}.pt" for e in (8, 9, 10)]
#    print(max(names))
#
# .. solution::
#
#    Solution
#
#    Strings compare character by character, and ``"9"`` comes after ``"1"``.

names = [f"epoch-{e}.pt" for e in (8, 9, 10)]
print(max(names))
assert max(names) == "epoch-9.pt"
names = [f"epoch-{e:04d}.pt" for e in (8, 9, 10)]
print(max(names))
assert max(names) == "epoch-0010.pt"

# %%
# Exercise 2 ★★: resume from epoch 2 and show that it matches
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The folder ``root / "runs"`` holds a checkpoint for each epoch. Build a new
# run, load ``epoch-0002.pt`` into it with :func:`pttour.load_checkpoint`,
# train four epochs, and check that its weights are those of the
# uninterrupted run.
#
# .. solution::
#
#    Solution

run = build_run(seed=7)
extra = {"scheduler": run[2], "generators": {"loader": run[3].generator}}
path = pttour.checkpoint_path(root / "runs", 2)
loaded = pttour.load_checkpoint(path, run[0], run[1], **extra)
for _ in range(loaded.epoch, 6):
    train_epoch(*run)
print(f"from epoch {loaded.epoch}: same weights {same_weights(run)}")
assert same_weights(run)

# %%
# Exercise 3 ★★★: resume after a damaged checkpoint
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A disk fault has cut ``epoch-0006.pt`` in half. Show that
# :func:`pttour.load_checkpoint` refuses it, and find the newest checkpoint
# that still opens with :func:`pttour.latest_checkpoint`.
#
# .. solution::
#
#    Solution

newest = pttour.latest_checkpoint(root / "runs")
newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
refused = False
try:
    pttour.load_checkpoint(newest, build_run(seed=1)[0])
except pttour.CorruptCheckpointError as err:
    refused = True
    message = str(err).replace(str(root), "<root>")
    print(f"CorruptCheckpointError: {message.split(' (')[0]}")
usable = pttour.latest_checkpoint(root / "runs", skip_unreadable=True)
print(f"newest that opens: {usable.name}")
assert refused
assert usable.name == "epoch-0005.pt"

workdir.cleanup()
