"""
Shuffling, workers and loading speed
====================================

A ``DataLoader`` can shuffle the samples at the start of every epoch, and it
can prepare batches in worker processes while the model trains. After reading
this page you will be able to:

* shuffle in an order that is the same on every run, whatever else the program
  draws;
* say how each worker process seeds its random number generators, and avoid
  the one pitfall left;
* write a script whose workers start with every process start method;
* judge whether worker processes make loading faster on your machine.

**What you need:** PyTorch ≥ 2.6, NumPy, matplotlib and pttour. The
`installation page <https://pttour.github.io/pttour/en/install.html>`_ shows
how to install them.
"""

# %%
# Shuffling
# ---------
#
# With ``shuffle=True`` the loader draws a new order of the samples at the
# start of every epoch. A ``range`` serves as the dataset here: it has a length
# and can be indexed, and each sample is its own index.

import torch
from torch.utils.data import DataLoader

torch.manual_seed(0)
loader = DataLoader(range(8), batch_size=4, shuffle=True)
for epoch in range(2):
    print(f"epoch {epoch}: {[batch.tolist() for batch in loader]}")

# %%
# An order that depends on a seed alone
# -------------------------------------
#
# Without a generator of its own, the loader draws the order from torch's
# global random state, which initialising weights, dropout and augmentation
# draw from too. Seeding it with ``torch.manual_seed`` is not enough: adding
# one layer to the model before the loop changes the order of the data.


def first_epoch(loader: DataLoader) -> list[int]:
    # The order of one epoch (these loaders make one batch of all eight).
    return next(iter(loader)).tolist()


torch.manual_seed(0)
order = first_epoch(DataLoader(range(8), batch_size=8, shuffle=True))
torch.manual_seed(0)
torch.nn.Linear(2, 1)  # a new layer: its initial weights are random draws
after_new_layer = first_epoch(DataLoader(range(8), batch_size=8, shuffle=True))
print(f"order:                {order}")
print(f"after adding a layer: {after_new_layer}")

# %%
# Give the loader its own ``torch.Generator``: the loader then draws from that
# generator only, so the order depends on its seed and on nothing else. Each
# epoch still gets a new order, and two loaders with the same seed replay the
# same epochs.


def seeded_loader(seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        range(8), batch_size=8, shuffle=True, generator=generator
    )


loader_a, loader_b = seeded_loader(7), seeded_loader(7)
for epoch in range(3):
    torch.nn.Linear(2, 1)  # unrelated random draws no longer matter
    order_a, order_b = first_epoch(loader_a), first_epoch(loader_b)
    print(f"epoch {epoch}: {order_a}, same in loader_b: {order_a == order_b}")

# %%
# The generator's state, ``generator.get_state()``, is what a checkpoint must
# store for a resumed run to continue this sequence of epochs, as
# :ref:`sphx_glr_auto_tutorials_plot_13_checkpoints_resume.py` shows.
#
# :func:`pttour.make_loader` is the tested version of ``seeded_loader``: it
# creates the generator from ``seed``, and refuses the arguments that would
# undo it, such as a ``sampler`` or ``persistent_workers``.

import pttour

tested = pttour.make_loader(range(8), batch_size=8, seed=7)
print(f"make_loader, seed 7: {first_epoch(tested)}")

# %%
# Worker processes and their random streams
# -----------------------------------------
#
# With ``num_workers > 0`` the loader starts that many processes, each of
# which produces whole batches for the main process. Whenever it starts them
# (every epoch, unless ``persistent_workers=True`` keeps them), the loader
# draws a base seed from its generator, and each worker seeds torch, Python's
# ``random`` and NumPy's global generator from it and its worker number. So
# random augmentation differs between workers, and a seeded loader repeats it
# on every run, with no ``worker_init_fn``.
#
# With the ``fork`` start method (the default on Linux up to Python 3.13) a
# worker starts as a copy of the running program. ``spawn`` (macOS, Windows)
# and ``forkserver`` (Linux from Python 3.14) start a fresh interpreter that
# imports your script again: define datasets at module level, and iterate
# under ``if __name__ == "__main__":``. This page runs inside the
# documentation build, which a fresh interpreter cannot import, so it asks
# for ``fork`` where the system has it.

import multiprocessing
import random

import numpy as np
from torch.utils.data import Dataset, get_worker_info

START_METHOD = {"multiprocessing_context": "fork"}
if "fork" not in multiprocessing.get_all_start_methods():
    START_METHOD = {}  # Windows: no fork; loops need the __main__ guard


class GlobalDraws(Dataset):
    # Each sample: its worker, and a draw from torch, random and NumPy.

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor]:
        info = get_worker_info()  # None in the main process
        draws = [torch.rand(()).item(), random.random(), np.random.rand()]
        return (0 if info is None else info.id), torch.tensor(draws)


def worker_draws(dataset: Dataset, seed: int) -> list:
    # (worker, rounded draws) per sample of an epoch: two workers.
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(  # batch_size=1 by default: one sample per batch
        dataset, num_workers=2, generator=generator, **START_METHOD
    )
    return [
        (int(worker), [round(v, 3) for v in draws[0].tolist()])
        for worker, draws in loader
    ]


first_run = worker_draws(GlobalDraws(), seed=0)
for worker, draws in first_run:
    print(f"worker {worker}: torch, random, numpy = {draws}")
again = worker_draws(GlobalDraws(), seed=0)
print(f"the same draws again with the same seed: {again == first_run}")

# %%
# The workers take turns, one batch each. Their draws differ from each other
# and from one sample to the next, and the same seed repeats them.
#
# The pitfall: a generator created before the workers start
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A dataset that keeps its own generator object, such as NumPy's
# ``default_rng``, creates it in the main process, and every worker receives a
# copy of it *in the same state*:


class OwnGenerator(GlobalDraws):
    # Each sample: its worker, and a draw from a generator made up front.

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor]:
        info = get_worker_info()
        draw = torch.tensor([self.rng.random()])
        return (0 if info is None else info.id), draw


for worker, draws in worker_draws(OwnGenerator(), seed=0):
    print(f"worker {worker}: {draws}")

# %%
# Worker 1 repeats worker 0's numbers, in every epoch. Draw from torch,
# ``random`` or ``numpy.random`` instead, which the workers seed, or create the
# generator inside the worker from ``torch.initial_seed()``, the worker's own
# seed there.
#
# Do workers make loading faster?
# -------------------------------
#
# Workers pay off when producing a sample takes time: reading a file, or
# decoding an image. The dataset below waits about a millisecond per sample to
# play that part. We read one epoch of 384 samples with 0, 1 and 2 workers and
# keep the best of two runs, the workers' start-up included, which every epoch
# pays again unless ``persistent_workers=True`` keeps them.

import os
import time


class SlowReads(Dataset):
    # Samples that take about a millisecond each, like small files.

    def __len__(self) -> int:
        return 384

    def __getitem__(self, index: int) -> torch.Tensor:
        time.sleep(0.001)  # stands for waiting on the disk
        return torch.full((4,), float(index))


def samples_per_second(workers: int) -> float:
    # The best rate of two epochs, the workers' start-up included.
    options = START_METHOD if workers > 0 else {}
    loader = DataLoader(
        SlowReads(), batch_size=16, num_workers=workers, **options
    )
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        for _batch in loader:
            pass
        best = min(best, time.perf_counter() - start)
    return len(loader.dataset) / best


worker_counts = [0, 1, 2]
rates = [samples_per_second(workers) for workers in worker_counts]
for workers, rate in zip(worker_counts, rates, strict=True):
    print(f"num_workers={workers}: {rate:4.0f} samples/s")
print(f"CPU cores of the machine that built this page: {os.cpu_count()}")

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar([str(w) for w in worker_counts], rates)
ax.set_xlabel("num_workers")
ax.set_ylabel("1/s")
plt.show()

# %%
# .. figure-caption::
#
#    The rates printed above: samples loaded per second (vertical axis) with
#    0, 1 and 2 worker processes (horizontal axis), when producing each sample
#    takes about a millisecond.
#
# One worker only moves the work to another process: apart from its start-up,
# the epoch takes as long as with none. Two workers produce two samples at a
# time, close to double the rate on an idle machine with two or more cores.
# Beyond the free cores, workers add start-up time and memory and nothing
# else; when samples are cheap, as for tensors in memory, ``num_workers=0`` is
# fastest. Measure before choosing.
#
# Takeaways
# ---------
#
# * Give a shuffling loader its own seeded ``torch.Generator``.
# * Workers seed torch, ``random`` and NumPy; draw from these in a dataset.
# * For ``spawn``, define datasets at module level; iterate under a
#   ``__main__`` guard.
# * Workers help when a sample is slow to produce; measure ``num_workers``.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_12_saving_loading.py` saves a
# trained model and loads it back.
#
# What the article got wrong
# --------------------------
#
# This page follows §4.4 "DataLoader" of the article; the :doc:`/errata` page
# has the full entry.
#
# .. _erratum-e27:
#
# Erratum E27: Unseeded shuffling
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article shuffles with ``shuffle=True`` and no generator. Two such
# loaders, built one after the other, give different orders, as two runs of the
# article's script do:

torch.manual_seed(0)
unseeded = [DataLoader(range(8), batch_size=8, shuffle=True) for _ in "ab"]
print([first_epoch(loader) for loader in unseeded])

# %%
# Pass ``generator=torch.Generator().manual_seed(seed)``, as ``seeded_loader``
# does; nothing more is needed with workers (:ref:`E27 on the errata page
# <e27>`).
#
# Exercises
# ---------
#
# Exercise 1 ★: one generator, two loaders
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict whether the two loaders give the same first
# epoch; then change the code so that they do.
#
# .. code-block:: python
#
#    generator = torch.Generator().manual_seed(7)
#    a = DataLoader(range(6), batch_size=6, shuffle=True, generator=generator)
#    b = DataLoader(range(6), batch_size=6, shuffle=True, generator=generator)
#    print(first_epoch(a) == first_epoch(b))
#
# .. solution::
#
#    Solution
#
#    They share one generator: ``b`` draws after ``a``, from a later state. One
#    generator each, seeded alike, gives the same order.

generator = torch.Generator().manual_seed(7)
a = DataLoader(range(6), batch_size=6, shuffle=True, generator=generator)
b = DataLoader(range(6), batch_size=6, shuffle=True, generator=generator)
shared = first_epoch(a) == first_epoch(b)
generator_a = torch.Generator().manual_seed(7)
generator_b = torch.Generator().manual_seed(7)
a = DataLoader(range(6), batch_size=6, shuffle=True, generator=generator_a)
b = DataLoader(range(6), batch_size=6, shuffle=True, generator=generator_b)
own = first_epoch(a) == first_epoch(b)
print(f"shared generator: {shared}; one generator each: {own}")
assert (shared, own) == (False, True)

# %%
# Exercise 2 ★★: resume the order at epoch 3
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A run with ``seeded_loader(0)`` stops after epochs 0, 1 and 2. Save what the
# next epochs need, build a new loader from it, and show that its epochs 3 and
# 4 match those of an uninterrupted run.
#
# .. solution::
#
#    Solution
#
#    The loader's generator state after epoch 2 is all the order depends on.

uninterrupted = seeded_loader(0)
expected = [first_epoch(uninterrupted) for _ in range(5)][3:]
stopped = seeded_loader(0)
for _ in range(3):
    first_epoch(stopped)
saved = stopped.generator.get_state()  # what a checkpoint stores
resumed = seeded_loader(0)  # built the same way, in a new process
resumed.generator.set_state(saved)
orders = [first_epoch(resumed) for _ in range(2)]
print(f"epochs 3 and 4: {orders}")
print(f"as in the uninterrupted run: {orders == expected}")
assert orders == expected

# %%
# Exercise 3 ★★★: a private generator, seeded in the worker
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Fix ``OwnGenerator``: keep a NumPy generator of its own, but create it in the
# process that uses it, from ``torch.initial_seed()``. Show that the two
# workers now draw different numbers, and that the same loader seed repeats
# them.
#
# .. solution::
#
#    Solution
#
#    Create the generator at the first draw, in the worker; ``__init__`` only
#    prepares its place.


class WorkerGenerator(OwnGenerator):
    def __init__(self) -> None:
        self.rng = None  # made in the process that draws

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor]:
        if self.rng is None:
            self.rng = np.random.default_rng(torch.initial_seed())
        return super().__getitem__(index)


draws = worker_draws(WorkerGenerator(), seed=0)
print(draws)
assert draws[0][1] != draws[1][1]
assert draws == worker_draws(WorkerGenerator(), seed=0)
