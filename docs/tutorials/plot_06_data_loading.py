"""
Loading data
============

Training reads its data in batches, in a shuffled order, often with random augmentation, and
sometimes with several processes preparing batches in parallel. ``torch.utils.data`` splits
this work in two: a *dataset* produces one sample at a time, and a ``DataLoader`` asks the
dataset for samples and stacks them into batches. After reading this page you will be able to:

* wrap data you already hold in a map-style dataset with :class:`pttour.SequenceDataset`;
* augment samples where they are produced, with :class:`pttour.TransformedDataset`;
* predict how many batches an epoch has, with :func:`pttour.count_batches`;
* make the shuffling order and the randomness in worker processes reproducible, with
  :func:`pttour.make_loader`;
* judge whether worker processes make loading faster on your machine.
"""

# %%
# A map-style dataset
# -------------------
#
# A map-style dataset answers two questions: how many samples there are (``__len__``) and
# which sample sits at a given index (``__getitem__``). A ``DataLoader`` needs nothing else.
#
# For data that is already in memory, :class:`pttour.SequenceDataset` does this for you. It
# converts every row to a tensor when it is built, so a bad row fails at once and names
# itself, and it pairs each input with its target.

import torch

import pttour

torch.manual_seed(0)
device = pttour.pick_device()

inputs = torch.arange(12, dtype=torch.float32).reshape(6, 2)
targets = inputs.sum(dim=1, keepdim=True)  # one target per sample
dataset = pttour.SequenceDataset(inputs, targets)

x, y = dataset[1]
print(f"{len(dataset)} samples")
print(f"dataset[1] = ({x.tolist()}, {y.tolist()}), dtype {x.dtype}")

# %%
# Inputs and targets of different lengths are refused. Pairing them with ``zip`` instead
# would silently drop the extra samples.

try:
    pttour.SequenceDataset(inputs, targets[:5])
except ValueError as err:
    print(f"ValueError: {err}")

# %%
# Augmentation belongs in the dataset
# -----------------------------------
#
# Random augmentation (cropping, flipping, adding noise) changes a sample each time it is
# read. The place to do it is where the sample is produced, in the dataset: the
# ``DataLoader`` only decides which indices to read and how to stack the results.
#
# :class:`pttour.TransformedDataset` wraps a dataset and applies a function to each input
# as it is read; the target passes through unchanged. The transform below reverses the
# order of the features with probability one half, a one-dimensional "horizontal flip".
# It is defined at module level, which matters once worker processes are involved (see
# below).


def random_flip(sample: torch.Tensor) -> torch.Tensor:
    """Reverse the features of ``sample`` with probability 1/2."""
    if torch.rand(()) < 0.5:  # the global RNG: each worker process seeds its own copy
        return sample.flip(0)
    return sample


augmented = pttour.TransformedDataset(dataset, random_flip)
for read in range(4):
    x, y = augmented[1]
    print(f"read {read}: input {x.tolist()}, target {y.tolist()}")

# %%
# The same index gives a different variant from one read to the next, so every epoch sees
# fresh variations of the data, while the target stays the same.
#
# Batches, and how many of them
# -----------------------------
#
# The loader reads ``batch_size`` samples and stacks them along a new first dimension.
# For ``(input, target)`` pairs, the default ``collate_fn`` stacks the inputs and the
# targets separately, so the loop can unpack each batch.

from torch.utils.data import DataLoader

loader = DataLoader(dataset, batch_size=4)
for inputs_batch, targets_batch in loader:
    print(f"inputs {tuple(inputs_batch.shape)}, targets {tuple(targets_batch.shape)}")
print(f"len(loader) = {len(loader)}")

# %%
# Six samples in batches of four make two batches, and the last one is smaller. In
# general an epoch has ``ceil(samples / batch_size)`` batches; with ``drop_last=True`` the
# incomplete batch is dropped, which gives the floor instead. :func:`pttour.count_batches`
# computes both without building a loader:

print(f"count_batches(6, 4) = {pttour.count_batches(6, 4)}")
print(f"count_batches(6, 4, drop_last=True) = {pttour.count_batches(6, 4, drop_last=True)}")
print(f"len(DataLoader(..., drop_last=True)) = {len(DataLoader(dataset, 4, drop_last=True))}")
print(f"count_batches(2, 2) = {pttour.count_batches(2, 2)}")

# %%
# To train on a GPU, move each batch to the device inside the loop. With CUDA,
# ``pin_memory=True`` puts batches in page-locked memory, which lets the copy run
# asynchronously with ``non_blocking=True``; on a CPU it has no use, and torch warns.

batch = next(iter(pttour.make_loader(dataset, batch_size=4, pin_memory=device.type == "cuda")))
inputs_batch, targets_batch = pttour.move_to(batch, device, non_blocking=True)
print(f"batch on {inputs_batch.device}, pinned before the copy: {batch[0].is_pinned()}")

# %%
# Reproducible shuffling
# ----------------------
#
# With ``shuffle=True`` a ``DataLoader`` draws a new order at the start of every epoch. By
# default it draws from torch's global random state, which any other code also draws from,
# so the order changes whenever the rest of the program changes.
#
# :func:`pttour.make_loader` gives the loader its own ``torch.Generator``, seeded from
# ``seed``. Two loaders with the same seed replay the same epochs, whatever else the
# program draws in between, and each epoch still gets a new order. The generator is kept
# as ``loader.generator``: saving its state in a checkpoint lets a resumed run continue
# the same sequence of epochs, as :ref:`sphx_glr_auto_tutorials_plot_07_checkpoints.py`
# shows.

indices = pttour.SequenceDataset(torch.arange(8))


def epoch_order(loader: DataLoader) -> list[int]:
    """The sample indices of one full epoch, in the order the loader yields them."""
    return [index for batch in loader for index in batch.tolist()]


loader_a = pttour.make_loader(indices, batch_size=4, seed=42)
loader_b = pttour.make_loader(indices, batch_size=4, seed=42)
for epoch in range(3):
    torch.rand(10)  # unrelated random draws do not change the order
    order_a, order_b = epoch_order(loader_a), epoch_order(loader_b)
    print(f"epoch {epoch}: {order_a}  same in both loaders: {order_a == order_b}")

# %%
# Worker processes and their random streams
# -----------------------------------------
#
# With ``num_workers > 0`` the loader starts that many processes; each one reads whole
# batches and sends them back to the main process. Each worker gets its own random seed,
# derived from the loader's generator and the worker's number, so random augmentation
# differs between workers yet is the same on every run. :func:`pttour.make_loader` also
# installs :func:`pttour.seed_worker`, which seeds Python's ``random`` and NumPy's global
# random state in each worker from the same value.
#
# A worker must be able to find the dataset and its transform. Workers started with the
# ``fork`` method get a copy of the running program. The ``spawn`` method (the default on
# macOS and Windows) and ``forkserver`` (the default on Linux from Python 3.14) start a
# fresh interpreter that imports the script again, so the dataset classes and transforms
# must be defined at module level and the code that iterates over the loader must sit
# under ``if __name__ == "__main__":``. This page runs inside the documentation build,
# which a fresh interpreter cannot import again, so it asks for ``fork`` wherever the
# system has it.

import multiprocessing
from collections.abc import Callable

from torch.utils.data import get_worker_info

START_METHOD = {"multiprocessing_context": "fork"}
if "fork" not in multiprocessing.get_all_start_methods():
    START_METHOD = {}  # Windows: no fork; the loops below then need the __main__ guard


def noise_with_worker_id(sample: torch.Tensor) -> dict[str, torch.Tensor | int]:
    """Add uniform noise drawn from torch's global RNG, and record which worker drew it."""
    info = get_worker_info()
    return {"worker": 0 if info is None else info.id, "value": sample + torch.rand(2)}


def worker_draws(transform: Callable, seed: int) -> list[tuple[int, list[float]]]:
    """(worker, noisy sample) for each batch of one epoch with two workers."""
    noisy = pttour.TransformedDataset(pttour.SequenceDataset(torch.zeros(4, 2)), transform)
    loader = pttour.make_loader(
        noisy, batch_size=1, shuffle=False, seed=seed, num_workers=2, **START_METHOD
    )
    return [
        (int(batch["worker"]), [round(v, 3) for v in batch["value"][0].tolist()])
        for batch in loader
    ]


first_run = worker_draws(noise_with_worker_id, seed=0)
for worker, values in first_run:
    print(f"worker {worker}: {values}")
second_run = worker_draws(noise_with_worker_id, seed=0)
print(f"same draws when run again with the same seed: {second_run == first_run}")

# %%
# The two workers take turns, one batch each, and their numbers differ. Running the same
# loader again gives the same numbers.
#
# The pitfall: a random generator created before the workers start
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A transform that keeps its own generator object, such as NumPy's ``default_rng``, is
# created in the main process. Every worker receives a copy of it *in the same state*, so
# the workers draw the same "random" numbers.

import numpy as np


class NoiseFromOwnGenerator:
    """Add uniform noise drawn from a generator created when the transform is built."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, sample: torch.Tensor) -> dict[str, torch.Tensor | int]:
        info = get_worker_info()
        noise = torch.from_numpy(self.rng.random(2, dtype=np.float32))
        return {"worker": 0 if info is None else info.id, "value": sample + noise}


copied_generator = worker_draws(NoiseFromOwnGenerator(seed=0), seed=0)
for worker, values in copied_generator:
    print(f"worker {worker}: {values}")
print(f"worker 0 repeats worker 1: {copied_generator[0][1] == copied_generator[1][1]}")

# %%
# Each worker got the same copy, so the augmentation of sample 0 repeats for sample 1, and
# the same happens in every epoch, because each epoch starts its workers from the same
# copy. Draw from the global random state inside the transform (``torch.rand``,
# ``random``, ``numpy.random``), which each worker seeds on its own, as
# ``noise_with_worker_id`` does; or create the generator inside the worker, seeded from
# ``torch.initial_seed()``.
#
# Do workers make loading faster?
# -------------------------------
#
# Workers pay off when producing a sample takes time: reading a file from a disk or over
# the network, or decoding an image. The dataset below waits about a millisecond for each
# sample to play that part. The measurement reads one epoch of 384 samples with 0, 1 and 2
# workers, keeps the best of two runs, and includes the time to start the workers, which
# every epoch pays again unless the workers are persistent.

import time

from torch.utils.data import Dataset


class SlowReadDataset(Dataset):
    """Samples that each take about a millisecond to produce, like reading a small file."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> torch.Tensor:
        time.sleep(0.001)  # stands for waiting on the disk
        return torch.full((4,), float(index))


def measure_epoch(dataset: Dataset, num_workers: int, repeats: int = 2) -> tuple[float, float]:
    """Best (samples per second, seconds to the first batch) over ``repeats`` epochs."""
    options = START_METHOD if num_workers > 0 else {}
    loader = pttour.make_loader(dataset, batch_size=16, seed=0, num_workers=num_workers, **options)
    best_epoch = best_first = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        first = None
        for _batch in loader:
            if first is None:
                first = time.perf_counter() - start
        best_epoch = min(best_epoch, time.perf_counter() - start)
        best_first = min(best_first, first)
    return len(dataset) / best_epoch, best_first


slow = SlowReadDataset(384)
worker_counts = [0, 1, 2]
results = [measure_epoch(slow, workers) for workers in worker_counts]
throughputs = [rate for rate, _ in results]
for workers, (rate, first) in zip(worker_counts, results, strict=True):
    print(f"num_workers={workers}: {rate:5.0f} samples/s, first batch after {first * 1e3:4.0f} ms")
print(f"CPU cores on the machine that built this page: {multiprocessing.cpu_count()}")

# %%
# The figure shows the measurement made when this page was built.

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar([str(w) for w in worker_counts], throughputs, color="tab:blue")
ax.set_xlabel("num_workers")
ax.set_ylabel("samples per second")
ax.set_title("DataLoader throughput, about 1 ms to produce each sample")
plt.show()

# %%
# The time to the first batch shows the start-up cost: the workers must start and
# fill their first batch before anything arrives. With one worker the same work simply
# moves to another process, so the epoch is a little slower than with none. With two
# workers, two samples are produced at the same time, which on an idle machine with two or
# more cores brings the rate close to double, minus the start-up cost.
#
# Your numbers depend on your cores and on what else is running; on a busy machine the
# gain shrinks. When producing a sample takes CPU work rather than waiting, workers
# beyond the number of free cores only add start-up time and memory. When samples are
# cheap, as for tensors already in memory, ``num_workers=0`` is fastest. Measure on your
# machine before choosing.
#
# .. _erratum-e24:
#
# Erratum E24: No augmentation in DataLoader
# ------------------------------------------
#
# The article presents cropping, flipping and rotation as options that ``DataLoader``
# provides. Here are all of its parameters on the installed torch:

import inspect

print(", ".join(inspect.signature(DataLoader).parameters))

# %%
# None of them transforms a sample: they are about batching, order, worker processes and
# memory. The loader only asks the dataset for items, so augmentation belongs to the
# dataset's ``__getitem__``, or to a dataset that wraps it. The fix is the one used above:
# wrap the dataset, and let the loader batch what it returns.

flipped_loader = DataLoader(pttour.TransformedDataset(dataset, random_flip), batch_size=3)
inputs_batch, _ = next(iter(flipped_loader))
print(inputs_batch.tolist())

# %%
# .. _erratum-e25:
#
# Erratum E25: One batch, not two
# -------------------------------
#
# The article says that a loader over two samples with a batch size of two yields two
# batches. Built the same way, the loader yields one:

two_samples = pttour.SequenceDataset([[1.0, 2.0], [3.0, 4.0]])
two_sample_loader = DataLoader(two_samples, batch_size=2, shuffle=True)
batches = list(two_sample_loader)
print(f"len(loader) = {len(two_sample_loader)}, batches seen = {len(batches)}")
print(f"the batch has shape {tuple(batches[0].shape)}")

# %%
# The batch size is the number of samples per batch, not the number of batches. Two
# samples fill exactly one batch of two, so the loop runs once, with a tensor of shape
# (2, 2). To get two batches, use a batch size of one:

print(f"batch_size=1: {len(DataLoader(two_samples, batch_size=1))} batches")
print(f"count_batches(2, 1) = {pttour.count_batches(2, 1)}")

# %%
# .. _erratum-e26:
#
# Erratum E26: Integer batches for a float model
# ----------------------------------------------
#
# The article builds its samples from Python integers and says the batches are fed to a
# model for training. A model's parameters are ``float32``, and an integer batch does not
# go through it:

from torch import nn

model = nn.Linear(2, 1)
integer_rows = [torch.tensor([1, 2]), torch.tensor([3, 4])]
integer_batch = next(iter(DataLoader(integer_rows, batch_size=2)))
print(f"batch dtype: {integer_batch.dtype}")
try:
    model(integer_batch)
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# ``torch.tensor`` infers ``int64`` from Python integers, and the loader keeps the dtype
# that the dataset returns. A matrix product needs both operands in the same dtype, and
# torch does not convert them for you. Create the samples as floats, or convert the batch:

float_rows = pttour.SequenceDataset(torch.tensor([[1, 2], [3, 4]], dtype=torch.float32))
float_batch = next(iter(DataLoader(float_rows, batch_size=2)))
print(f"batch dtype: {float_batch.dtype}, output shape {tuple(model(float_batch).shape)}")
print(f"converted: output shape {tuple(model(integer_batch.float()).shape)}")

# %%
# .. _erratum-e27:
#
# Erratum E27: Unseeded shuffling
# -------------------------------
#
# The article shuffles with ``shuffle=True`` and no generator. The order then depends on
# everything drawn from the global random state before the loop:


def first_epoch(loader: DataLoader) -> list[int]:
    """The order of the first epoch: one batch that holds all the samples."""
    return next(iter(loader)).tolist()


torch.manual_seed(0)
plain_order = first_epoch(DataLoader(range(8), batch_size=8, shuffle=True))
torch.manual_seed(0)
torch.rand(1)  # one unrelated random draw, e.g. initialising a layer
after_one_draw = first_epoch(DataLoader(range(8), batch_size=8, shuffle=True))
print(f"order:                     {plain_order}")
print(f"after one more random draw: {after_one_draw}")

# %%
# The loader draws its order from torch's global generator, which weight initialisation,
# dropout and augmentation also use. Adding a layer or moving a line changes the data order,
# and without a seed every run differs. Give the loader its own seeded generator, as
# :func:`pttour.make_loader` does (it also seeds the workers):

torch.manual_seed(0)
seeded_order = first_epoch(pttour.make_loader(indices, batch_size=8, seed=7))
torch.manual_seed(0)
torch.rand(1)
seeded_after_draw = first_epoch(pttour.make_loader(indices, batch_size=8, seed=7))
print(f"seeded order:               {seeded_order}")
print(f"after one more random draw: {seeded_after_draw}")

# %%
# With a plain ``DataLoader``, pass the generator yourself:

own_generator = torch.Generator().manual_seed(7)
plain_loader = DataLoader(range(8), batch_size=8, shuffle=True, generator=own_generator)
torch.rand(1)
print(f"DataLoader(..., generator=torch.Generator().manual_seed(7)): {first_epoch(plain_loader)}")

# %%
# Takeaways
# ---------
#
# * A map-style dataset is ``__len__`` plus ``__getitem__``; for data in memory,
#   :class:`pttour.SequenceDataset` converts and pairs the rows for you.
# * ``DataLoader`` batches, shuffles and runs workers; it does not augment. Put random
#   transforms in the dataset, for example with :class:`pttour.TransformedDataset`.
# * ``batch_size`` is samples per batch: an epoch has ``ceil(samples / batch_size)``
#   batches, the floor with ``drop_last=True``. :func:`pttour.count_batches` says how many.
# * Give the loader its own seeded generator and seed the workers:
#   :func:`pttour.make_loader` does both, and :func:`pttour.seed_worker` is the worker part.
# * Inside transforms, draw from the global random state, which each worker seeds on its
#   own, not from a generator object created before the workers start.
# * Workers help when producing a sample is slow, up to the number of free cores, and they
#   cost start-up time: measure before choosing ``num_workers``.
