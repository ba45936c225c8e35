"""
Saving and loading checkpoints
==============================

A checkpoint lets a training run stop and continue later, on the same machine or another
one, and lets you keep the trained model. To be worth having, it must survive a crash
during the write, it must be safe to load, and a resumed run must continue exactly where
the first one stopped. After reading this page you will be able to:

* save and load a model, its optimizer, its learning-rate scheduler, the epoch and your
  own notes with :func:`pttour.save_checkpoint` and :func:`pttour.load_checkpoint`;
* explain why a checkpoint holds state dicts rather than the pickled model;
* explain why loading uses ``weights_only=True``, and see a file that would run code
  being refused;
* load a checkpoint written on a GPU on a machine without one;
* write checkpoints so that a crash never destroys the last good one;
* resume a run so that it matches an uninterrupted run bit for bit, starting from the
  newest checkpoint found by :func:`pttour.latest_checkpoint`.

**What you need:** PyTorch ≥ 2.6 and pttour. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# A small run to checkpoint
# -------------------------
#
# The run below fits a small network to a regression problem. It has every part whose
# state a checkpoint must keep: the model's weights, an optimizer (Adam keeps running
# averages for every weight), a learning-rate scheduler, a shuffling loader, and dropout,
# which draws random numbers at every step.
#
# Everything is written into a temporary folder, removed at the end of the page.

import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

import pttour

device = pttour.pick_device()
workdir = tempfile.TemporaryDirectory()
root = Path(workdir.name)

inputs, targets = pttour.linear_data(64, noise_std=0.1, seed=0)
dataset = pttour.SequenceDataset(inputs, targets)
loss_fn = nn.MSELoss()


@dataclass
class Run:
    """Everything that changes while training."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loader: torch.utils.data.DataLoader


def build_run(seed: int) -> Run:
    """A fresh run: the same data and architecture, initial weights drawn from ``seed``."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    loader = pttour.make_loader(dataset, batch_size=16, seed=0)
    return Run(model, optimizer, scheduler, loader)


def train_epoch(run: Run) -> float:
    """One pass over the data; returns the mean training loss."""
    run.model.train()
    total = 0.0
    for batch_inputs, batch_targets in run.loader:
        batch_inputs, batch_targets = pttour.move_to((batch_inputs, batch_targets), device)
        total += pttour.train_step(run.model, batch_inputs, batch_targets, loss_fn, run.optimizer)
    run.scheduler.step()
    return total / len(run.loader)


def shown(err: BaseException) -> str:
    """``Type: message`` with the temporary folder's random name replaced by <tmp>."""
    return f"{type(err).__name__}: {err}".replace(workdir.name, "<tmp>")


run = build_run(seed=0)
for epoch in range(1, 3):
    last_loss = train_epoch(run)
    print(f"epoch {epoch}: loss {last_loss:.4f}")

# %%
# What to save: state dicts
# -------------------------
#
# A module's ``state_dict()`` is an ordered dictionary from names to tensors: every
# parameter and every persistent buffer (see :ref:`erratum E36 <erratum-e36>`). It holds
# no code, so it can be read back without trusting the file, and loading it only needs a
# model of the same architecture, built by your code.

for name, tensor in run.model.state_dict().items():
    print(f"{name:10} {tuple(tensor.shape)}")

# %%
# The optimizer and the scheduler have state dicts too. Adam's holds, for each parameter,
# the step count and two running averages; without them, a resumed run would restart
# Adam from scratch and take different steps.

optimizer_state = run.optimizer.state_dict()
first_parameter = optimizer_state["state"][0]
print(f"optimizer state dict: {list(optimizer_state)}")
print(f"state of the first parameter: {sorted(first_parameter)}")
print(f"scheduler state dict: {sorted(run.scheduler.state_dict())}")

# %%
# The other way, ``torch.save(model)``, pickles the model object itself. The file then
# refers to the model's class by its import path, so it breaks when the code moves, and
# since torch 2.6 ``torch.load`` refuses it by default (see
# :ref:`erratum E28 <erratum-e28>`). Save state dicts.
#
# Saving and loading a checkpoint
# -------------------------------
#
# :func:`pttour.save_checkpoint` stores the state dicts of the model, the optimizer and
# the scheduler, the number of completed epochs, your metadata, the random number
# generator states, and the state of any generator you name, such as the loader's. It
# creates the folder if needed. :func:`pttour.checkpoint_path` names the file after the
# epoch.

folder = root / "runs" / "demo"
saved_path = pttour.save_checkpoint(
    pttour.checkpoint_path(folder, 2),
    run.model,
    run.optimizer,
    scheduler=run.scheduler,
    epoch=2,
    metadata={"loss": round(last_loss, 4), "note": "after two epochs"},
    generators={"loader": run.loader.generator},
)
print(f"saved {saved_path.relative_to(root).as_posix()}")
print(f"files in the folder: {sorted(p.name for p in folder.iterdir())}")

# %%
# The file is an ordinary torch file: a dictionary of plain values and tensors.

contents = torch.load(saved_path, map_location="cpu", weights_only=True)
print(sorted(contents))

# %%
# To load, build the objects first, then let :func:`pttour.load_checkpoint` fill them.
# It checks that the file fits the model before it changes anything, restores every
# state in place and returns the epoch and the metadata.

fresh = build_run(seed=1)  # different initial weights
same_before = torch.equal(fresh.model[0].weight, run.model[0].weight)
checkpoint = pttour.load_checkpoint(
    saved_path,
    fresh.model,
    fresh.optimizer,
    scheduler=fresh.scheduler,
    generators={"loader": fresh.loader.generator},
)
print(f"weights equal before loading: {same_before}")
print(f"weights equal after loading:  {torch.equal(fresh.model[0].weight, run.model[0].weight)}")
print(f"epoch {checkpoint.epoch}, metadata {checkpoint.metadata}")
print(f"learning rate restored: {fresh.scheduler.get_last_lr() == run.scheduler.get_last_lr()}")

# %%
# A model of another shape is refused, with every difference listed:

try:
    pttour.load_checkpoint(saved_path, nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)))
except pttour.ArchitectureMismatchError as err:
    print(shown(err))

# %%
# Why loading uses ``weights_only=True``
# --------------------------------------
#
# A ``.pt`` file is a pickle, and a pickle can name any function to call while it is
# read. With ``weights_only=False``, loading a file runs whatever it names, with your
# permissions. With ``weights_only=True``, the default since torch 2.6, the loader only
# rebuilds tensors and plain containers and refuses everything else.
# :func:`pttour.load_checkpoint` always passes ``weights_only=True``.
#
# The class below plays the attacker. Unpickling it calls ``os.mkdir``, harmless here: it
# only creates a marker folder in the temporary folder, which tells us whether code ran.

import os


class CreatesMarker:
    """Stands for malicious code: unpickling it creates a marker folder."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


marker = root / "code-was-run"
crafted = root / "downloaded.pt"
torch.save({"model": run.model.state_dict(), "extra": CreatesMarker(marker)}, crafted)

try:
    pttour.load_checkpoint(crafted, run.model)
except pttour.UnsafeCheckpointError as err:
    print(shown(err))
print(f"marker created: {marker.exists()}")

# %%
# The file was refused before anything in it was called: the marker does not exist.
#
# A GPU checkpoint on a CPU-only machine
# --------------------------------------
#
# ``torch.save`` records the device of every tensor. By default ``torch.load`` puts each
# tensor back on that device, so a file saved from a GPU needs a GPU to load. On a
# machine with an NVIDIA H100 and torch 2.11, a process that could not use the GPU
# printed this for a file saved from it:
#
# .. code-block:: text
#
#    RuntimeError: Attempting to deserialize object on a CUDA device but
#    torch.cuda.is_available() is False. If you are running on a CPU-only machine,
#    please use torch.load with map_location=torch.device('cpu') to map your storages
#    to the CPU.
#
# ``map_location`` tells ``torch.load`` where to put the tensors instead.
# :func:`pttour.load_checkpoint` always loads with ``map_location="cpu"``, then
# ``load_state_dict`` copies each tensor onto the device where your model already is.
# So build the model, move it to your device, and load: the same file works with or
# without a GPU.

print(f"this process uses: {device}")
loaded_weight = contents["model"]["0.weight"]
print(f"tensors loaded by torch.load(..., map_location='cpu'): {loaded_weight.device}")
print(f"model weights after load_checkpoint: {fresh.model[0].weight.device}")
if device.type == "cuda":
    # On a GPU machine: a checkpoint of CUDA tensors, loaded onto the CPU on purpose.
    gpu_file = root / "gpu.pt"
    torch.save({"weight": torch.ones(2, device=device)}, gpu_file)
    on_cpu = torch.load(gpu_file, map_location="cpu", weights_only=True)["weight"]
    print(f"CUDA tensor saved, loaded with map_location='cpu': {on_cpu.device}")

# %%
# Writes that survive a crash
# ---------------------------
#
# ``torch.save(obj, path)`` first empties the file at ``path``, then writes. If the
# process dies halfway, or the disk fills up, the old checkpoint is gone and the new one
# is incomplete. :func:`pttour.save_checkpoint` never writes to ``path`` directly:
#
# 1. it writes to a temporary file in the same folder;
# 2. it flushes Python's buffer and calls ``os.fsync``, so the bytes are on the disk;
# 3. it calls ``os.replace``, which swaps the new file in under the final name in one
#    step (and then syncs the folder, so the rename itself is durable).
#
# At every moment the path holds either the old checkpoint or the new one, whole. The
# temporary file must be in the same folder because ``os.replace`` is only atomic within
# one file system. :ref:`Erratum E34 <erratum-e34>` shows a crash during each kind of
# save.
#
# Resuming exactly
# ----------------
#
# A resumed run should do exactly what the uninterrupted run would have done. That needs
# more than the weights: the optimizer's and scheduler's state, the loader's shuffling
# generator, and the global random state used by dropout. :func:`pttour.save_checkpoint`
# stores them all, and :func:`pttour.load_checkpoint` restores them.
#
# The function below is the pattern to use. It looks for the newest checkpoint with
# :func:`pttour.latest_checkpoint` (which returns ``None`` when there is none), continues
# from there, and saves a checkpoint after every epoch.


def train_with_checkpoints(run: Run, folder: Path, last_epoch: int) -> None:
    """Train until ``last_epoch`` epochs are done, resuming from the newest checkpoint."""
    latest = pttour.latest_checkpoint(folder)
    done = 0
    if latest is not None:
        done = pttour.load_checkpoint(
            latest,
            run.model,
            run.optimizer,
            scheduler=run.scheduler,
            generators={"loader": run.loader.generator},
        ).epoch
        print(f"resuming from {latest.name}")
    for epoch in range(done + 1, last_epoch + 1):
        loss = train_epoch(run)
        pttour.save_checkpoint(
            pttour.checkpoint_path(folder, epoch),
            run.model,
            run.optimizer,
            scheduler=run.scheduler,
            epoch=epoch,
            metadata={"loss": loss},
            generators={"loader": run.loader.generator},
        )
        print(f"epoch {epoch}: loss {loss:.4f}, saved")


# %%
# First the reference: six epochs in one go. Then the same run stops after three epochs,
# and a new run, built with a different seed as a new process would be, resumes it up
# to six.

straight = build_run(seed=0)
for _ in range(6):
    train_epoch(straight)

resume_folder = root / "runs" / "resumed"
train_with_checkpoints(build_run(seed=0), resume_folder, last_epoch=3)
print("... the process stops here ...")
resumed = build_run(seed=123)
train_with_checkpoints(resumed, resume_folder, last_epoch=6)

# %%
# Every parameter of the resumed run equals the uninterrupted run's, bit for bit:

identical = all(
    torch.equal(a, b)
    for a, b in zip(
        straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True
    )
)
print(f"resumed == straight: {identical}")
print(f"checkpoints: {sorted(p.name for p in resume_folder.iterdir())}")
print(f"latest_checkpoint: {pttour.latest_checkpoint(resume_folder).name}")

# %%
# .. _erratum-e28:
#
# Erratum E28: Whole-model saving
# -------------------------------
#
# The article names saving the whole model, structure and parameters, as one of two ways
# to save, without showing it or what it costs. Here it is, on the installed torch:

import pickle
import re


def key_lines(err: BaseException, *needles: str) -> str:
    """The lines of a long message that contain one of ``needles``, without colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    lines = [line.strip() for line in text.splitlines() if any(n in line for n in needles)]
    return "\n".join(lines).replace(workdir.name, "<tmp>")


whole_model_file = root / "whole-model.pt"
torch.save(run.model, whole_model_file)
try:
    torch.load(whole_model_file)
except pickle.UnpicklingError as err:
    print(f"{type(err).__name__}:")
    print(key_lines(err, "Weights only load failed", "Unsupported global"))

# %%
# Pickling a module stores a reference to its class, ``torch.nn.modules...Sequential``
# here or ``my_project.models.Net`` for your own, and loading must import that class
# and run code to rebuild it. So the file breaks when the code is renamed or moved, and
# it cannot be loaded with ``weights_only=True``. Save the state dict and rebuild the
# model in code; to ship the structure as well, export the model with ``torch.export``.

state_file = root / "state-dict.pt"
torch.save(run.model.state_dict(), state_file)
rebuilt = build_run(seed=5).model
rebuilt.load_state_dict(torch.load(state_file, map_location="cpu", weights_only=True))
print(f"rebuilt model equals the saved one: {torch.equal(rebuilt[3].weight, run.model[3].weight)}")

# %%
# .. _erratum-e29:
#
# Erratum E29: exists() on a string
# ---------------------------------
#
# The article keeps the checkpoint path in a plain string and calls ``.exists()`` on it:

checkpoint_file = str(root / "checkpoints" / "checkpoint.pth")
try:
    checkpoint_file.exists()
except AttributeError as err:
    print(shown(err))

# %%
# ``exists()`` is a method of ``pathlib.Path``; a ``str`` has no such method, so the
# script stops at its first line of real work. Make the path a ``Path``:

checkpoint_file = root / "checkpoints" / "checkpoint.pth"
print(f"Path(...).exists(): {checkpoint_file.exists()}")

# %%
# .. _erratum-e30:
#
# Erratum E30: Missing checkpoint folder
# --------------------------------------
#
# The article saves into a ``checkpoints`` folder that nothing creates:

try:
    torch.save({"epoch": 0}, checkpoint_file)
except RuntimeError as err:
    print(shown(err))

# %%
# ``torch.save`` does not create folders. In the article's loop the save comes after the
# first epoch of training, so the crash also throws that work away. Create the folder
# before training, or let :func:`pttour.save_checkpoint` create it:

checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
torch.save({"epoch": 0}, checkpoint_file)
print(f"saved: {checkpoint_file.exists()}")
made = pttour.save_checkpoint(root / "new" / "folders" / "epoch-0000.pt", run.model, epoch=0)
print(f"save_checkpoint created {made.parent.relative_to(root).as_posix()}: {made.exists()}")

# %%
# .. _erratum-e31:
#
# Erratum E31: Undefined trainloader
# ----------------------------------
#
# The article's training loop reads from a ``trainloader`` that it never defines:

try:
    for _batch in trainloader:  # the name the article never defines
        pass
except NameError as err:
    print(shown(err))

# %%
# Python looks the name up when the loop starts, so the script fails there, once the
# earlier crashes are out of the way. Define the loader in the script, as ``build_run``
# does above:

loader = pttour.make_loader(dataset, batch_size=16, seed=0)
batch_inputs, batch_targets = next(iter(loader))
print(f"{len(loader)} batches of inputs {tuple(batch_inputs.shape)}")

# %%
# .. _erratum-e32:
#
# Erratum E32: Dictionary keys on tensor batches
# ----------------------------------------------
#
# The article's loop reads each batch as a dictionary with ``image`` and ``label`` keys.
# A loader over a dataset of plain tensors, like the one of the previous section of the
# article, yields tensors:

import warnings

from torch.utils.data import DataLoader

tensor_batch = next(iter(DataLoader(pttour.SequenceDataset([[1.0, 2.0], [3.0, 4.0]]), 2)))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        tensor_batch["image"]
    except IndexError as err:
        print(shown(err))
for warning in caught:
    print(f"{warning.category.__name__}: {warning.message}")

# %%
# A tensor is indexed by numbers; torch reads the string as a sequence of five indices,
# one per character, and a 2-D tensor has only two dimensions. The batch has whatever
# structure the dataset's items have: unpack pairs, or make the items dictionaries, which
# the default ``collate_fn`` batches key by key.


def as_dict(item: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Turn an ``(input, target)`` pair into a dictionary with named fields."""
    return {"image": item[0], "label": item[1]}


batch_inputs, batch_targets = next(iter(DataLoader(dataset, batch_size=4)))
print(f"unpacked: inputs {tuple(batch_inputs.shape)}, targets {tuple(batch_targets.shape)}")
named = pttour.TransformedDataset(dataset, as_dict, apply_to="item")
dict_batch = next(iter(DataLoader(named, batch_size=4)))
print(f"dictionary batch: { {key: tuple(value.shape) for key, value in dict_batch.items()} }")

# %%
# .. _erratum-e33:
#
# Erratum E33: No map_location
# ----------------------------
#
# The article loads its checkpoint with ``torch.load`` and no ``map_location``. A GPU
# checkpoint then does not load on a machine without CUDA (the message measured on an
# H100 machine is quoted above). This page cannot write real GPU tensors on a CPU-only
# machine, but ``torch.load`` only looks at the device that ``torch.save`` wrote next to
# each tensor, which ``torch.serialization.location_tag`` computes. Making it say
# ``cuda:0`` gives a file that, as far as ``torch.load`` can tell, was saved from a GPU:

from unittest import mock

gpu_tagged = root / "saved-on-gpu.pt"
with mock.patch.object(torch.serialization, "location_tag", return_value="cuda:0"):
    torch.save({"weight": torch.ones(2)}, gpu_tagged)
if torch.cuda.is_available():
    print("CUDA is available here, so the file loads onto the GPU without map_location.")
else:
    try:
        torch.load(gpu_tagged, weights_only=True)
    except RuntimeError as err:
        print(shown(err))

# %%
# Without ``map_location``, each tensor goes back to the device it was saved from, and
# there is no CUDA device to put it on. Name the device this process uses; the
# checkpoint functions of pttour load onto the CPU and let ``load_state_dict`` copy the
# weights to the model's device.

weight = torch.load(gpu_tagged, map_location=device, weights_only=True)["weight"]
print(f"loaded with map_location={str(device)!r}: {weight.device}")

# %%
# .. _erratum-e34:
#
# Erratum E34: Checkpoint overwritten in place
# --------------------------------------------
#
# The article writes every new checkpoint straight over the previous one. To see what a
# crash during the write does, ``crash_halfway`` stands in for ``torch.save``: it writes
# the first half of the file and then fails, as a killed process or a full disk would.

import io

real_save = torch.save


def crash_halfway(obj: object, file: object, *args: object, **kwargs: object) -> None:
    """Write half of what torch.save would write, then fail like an interrupted save."""
    buffer = io.BytesIO()
    real_save(obj, buffer, *args, **kwargs)
    half = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    if isinstance(file, (str, os.PathLike)):
        Path(file).write_bytes(half)
    else:
        file.write(half)
    raise OSError("simulated crash halfway through the write")


in_place = root / "in-place.pt"
torch.save(run.model.state_dict(), in_place)  # the last good checkpoint
with mock.patch.object(torch, "save", crash_halfway):
    try:
        torch.save(run.model.state_dict(), in_place)  # the next one, interrupted
    except OSError as err:
        print(shown(err))
try:
    torch.load(in_place, weights_only=True)
except RuntimeError as err:
    print(shown(err))

# %%
# ``torch.save`` opens the file for writing, which empties it, before writing a single
# new byte; after the crash the file is half a checkpoint, and the previous one no longer
# exists anywhere. Write to a temporary file and swap it in once it is complete, as
# :func:`pttour.save_checkpoint` does: the same crash leaves the last good checkpoint
# intact and no temporary file behind.

atomic_folder = root / "atomic"
good = pttour.save_checkpoint(atomic_folder / "epoch-0002.pt", run.model, epoch=2)
with mock.patch.object(torch, "save", crash_halfway):
    try:
        pttour.save_checkpoint(good, run.model, epoch=3)
    except OSError as err:
        print(shown(err))
print(f"checkpoint still loads, epoch {pttour.load_checkpoint(good, run.model).epoch}")
print(f"files in the folder: {sorted(p.name for p in atomic_folder.iterdir())}")

# %%
# .. _erratum-e35:
#
# Erratum E35: Loading untrusted checkpoints
# ------------------------------------------
#
# The article loads checkpoints with a bare ``torch.load`` and never says that the file
# is a pickle. The error message of today's torch suggests ``weights_only=False`` as its
# first way out. Here is what that does with the crafted file from above:

print(f"marker exists before: {marker.exists()}")
torch.load(crafted, weights_only=False)
print(f"marker exists after weights_only=False: {marker.exists()}")

# %%
# The file called ``os.mkdir`` while it was being read; a real attacker's file would call
# something worse, with your permissions. Before torch 2.6, ``weights_only=False`` was
# the default, so the article's bare ``torch.load`` ran such code. Load with
# ``weights_only=True`` spelled out, as :func:`pttour.load_checkpoint` does, and keep
# checkpoints to state dicts and plain values so that they never need anything else:

marker.rmdir()
try:
    torch.load(crafted, weights_only=True)
except pickle.UnpicklingError as err:
    print(f"{type(err).__name__}:")
    print(key_lines(err, "Weights only load failed", "GLOBAL"))
print(f"marker exists: {marker.exists()}")

# %%
# .. _erratum-e36:
#
# Erratum E36: A state dict is more than parameters
# -------------------------------------------------
#
# The article says that saving the state dict saves only the model's parameters. A
# batch-normalisation layer shows the difference:

norm = nn.BatchNorm1d(2)
parameter_names = [name for name, _ in norm.named_parameters()]
print(f"parameters: {parameter_names}")
print(f"state dict: {list(norm.state_dict())}")

# %%
# The state dict also holds the persistent buffers, here the running statistics that
# batch normalisation uses in evaluation mode. A copy of the parameters alone predicts
# differently from the trained layer; the whole state dict reproduces it:

norm(torch.linspace(0.0, 10.0, 16).reshape(8, 2))  # training mode updates the statistics
norm.eval()
only_parameters = nn.BatchNorm1d(2).eval()
only_parameters.load_state_dict(dict(norm.named_parameters()), strict=False)
whole_state = nn.BatchNorm1d(2).eval()
whole_state.load_state_dict(norm.state_dict())
probe = torch.tensor([[1.0, 2.0]])
for label, layer in [("trained layer", norm), ("parameters only", only_parameters),
                     ("the whole state dict", whole_state)]:  # fmt: skip
    print(f"{label:21} {[round(v, 4) for v in layer(probe).detach().flatten().tolist()]}")

# %%
# .. _erratum-e37:
#
# Erratum E37: Resuming is not exact
# ----------------------------------
#
# The article stores the epoch, the model and the optimizer, and nothing of the random
# state. Here is the run from above, stopped after three epochs and resumed that way
# (the scheduler is stored too, so that only the random state is missing):

partial = build_run(seed=0)
for _ in range(3):
    train_epoch(partial)
article_style = root / "article-style.pt"
torch.save(
    {
        "epoch": 3,
        "model": partial.model.state_dict(),
        "optimizer": partial.optimizer.state_dict(),
        "scheduler": partial.scheduler.state_dict(),
    },
    article_style,
)

restarted = build_run(seed=123)  # a new process
state = torch.load(article_style, map_location=device, weights_only=True)
restarted.model.load_state_dict(state["model"])
restarted.optimizer.load_state_dict(state["optimizer"])
restarted.scheduler.load_state_dict(state["scheduler"])
for _ in range(3):
    train_epoch(restarted)

gap = max(
    (a - b).abs().max().item()
    for a, b in zip(
        straight.model.state_dict().values(), restarted.model.state_dict().values(), strict=True
    )
)
print(f"resumed == straight: {torch.equal(restarted.model[3].weight, straight.model[3].weight)}")
print(f"largest difference in a weight: {gap:.2e}")

# %%
# The new process starts its loader's generator from the seed again, so epoch four is
# shuffled like epoch one, and dropout draws from a global random state that nobody
# restored. The run is still training, but it is a different run, which makes a bug hard
# to reproduce and a comparison between runs unfair. Store the random states with the
# checkpoint: ``torch.get_rng_state()``, the loader's ``generator.get_state()``, and the
# CUDA, NumPy and Python states in use. :func:`pttour.save_checkpoint` does, and the
# "Resuming exactly" section above shows the result: ``True``.
#
# Takeaways
# ---------
#
# * Save state dicts, the model's, the optimizer's and the scheduler's, with the epoch;
#   rebuild the model in code and load them into it. A state dict holds buffers too.
# * Load with ``weights_only=True`` spelled out, and never with ``weights_only=False`` a
#   file you did not make: a checkpoint is a pickle that can run code.
# * Load with ``map_location``, then move the model: a GPU checkpoint then loads anywhere.
# * Keep paths as ``pathlib.Path``, create the folder before training, and write to a
#   temporary file that ``os.replace`` swaps in, so a crash keeps the last checkpoint.
# * Store the random states, the loader's generator included, to resume exactly.
# * :func:`pttour.save_checkpoint`, :func:`pttour.load_checkpoint`,
#   :func:`pttour.checkpoint_path` and :func:`pttour.latest_checkpoint` do all of this.

workdir.cleanup()
