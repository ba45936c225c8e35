"""
Shuffling, workers and loading speed
====================================

A ``DataLoader`` can shuffle the samples at the start of every epoch, and it
can prepare batches in worker processes while the model trains. Both bring
randomness and processes into data loading. After reading this page you will be
able to:

* shuffle in an order that is the same on every run, whatever else the program
  draws;
* say how each worker process seeds its random number generators, and avoid the
  one pitfall left;
* write a script whose workers start with every process start method;
* judge whether worker processes make loading faster on your machine.

**What you need:** PyTorch ≥ 2.6, NumPy and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Shuffling
# ---------
#
# With ``shuffle=True`` the loader draws a new order of the samples at the
# start of every epoch, so each epoch's batches mix different samples. A
# ``range`` serves as the dataset here: it has a length and can be indexed, and
# each sample is its own index.

import torch
from torch.utils.data import DataLoader

torch.manual_seed(0)
loader = DataLoader(range(8), batch_size=4, shuffle=True)
for epoch in range(2):
    print(f"epoch {epoch}: {[batch.tolist() for batch in loader]}")

# %%
# .. _erratum-e27:
#
# Erratum E27: Unseeded shuffling
# -------------------------------
#
# The article shuffles with ``shuffle=True`` and nothing else. The order then
# comes from torch's global random state, which initialising weights, dropout
# and augmentation draw from too. Adding one layer to the model before the loop
# changes the order of the data:


def first_epoch(loader: DataLoader) -> list[int]:
    """The order of one epoch (the loaders here put all eight samples in one batch)."""
    return next(iter(loader)).tolist()


torch.manual_seed(0)
order = first_epoch(DataLoader(range(8), batch_size=8, shuffle=True))
torch.manual_seed(0)
torch.nn.Linear(2, 1)  # a new layer: its initial weights are random draws
after_new_layer = first_epoch(DataLoader(range(8), batch_size=8, shuffle=True))
print(f"order:                 {order}")
print(f"after adding a layer:  {after_new_layer}")

# %%
# Without a seed, the order also changes from run to run. Give the loader its
# own ``torch.Generator``: the loader then draws from that generator only, so
# the order depends on its seed and on nothing else. Each epoch still gets a
# new order, and two loaders with the same seed replay the same epochs
# (:ref:`E27 on the errata page <e27>`):


def seeded_loader(seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        range(8), batch_size=8, shuffle=True, generator=generator
    )


loader_a, loader_b = seeded_loader(7), seeded_loader(7)
for epoch in range(3):
    torch.nn.Linear(2, 1)  # unrelated random draws no longer matter
    order_a, order_b = first_epoch(loader_a), first_epoch(loader_b)
    print(
        f"epoch {epoch}: {order_a}, same in the second loader: {order_a == order_b}"
    )

# %%
# The generator's state, ``generator.get_state()``, is what a checkpoint must
# store for a resumed run to continue this sequence of epochs, as
# :ref:`sphx_glr_auto_tutorials_plot_13_checkpoints_resume.py` shows.
#
# Worker processes and their random streams
# -----------------------------------------
#
# With ``num_workers > 0`` the loader starts that many processes; each one
# produces whole batches and sends them to the main process. Each time it
# starts its workers (every epoch, unless ``persistent_workers=True`` keeps
# them), the loader draws a base seed from its generator, or from the global
# random state when it has none. Each worker then seeds torch, Python's
# ``random`` and, when NumPy is installed, NumPy's global generator from that
# base seed and its worker number. Torch has done this since version 1.9:
# random augmentation differs between workers, and a seeded loader repeats it
# on every run, with no ``worker_init_fn``.
#
# A worker needs the dataset and its code. With the ``fork`` start method (the
# default on Linux up to Python 3.13) a worker starts as a copy of the running
# program. ``spawn`` (the default on macOS and Windows) and ``forkserver`` (the
# default on Linux from Python 3.14) start a fresh interpreter that imports
# your script again: define datasets and transforms at module level, and put
# the code that iterates over the loader under ``if __name__ == "__main__":``.
# This page runs inside the documentation build, which a fresh interpreter
# cannot import, so it asks for ``fork`` where the system has it.

import multiprocessing
import random

import numpy as np
from torch.utils.data import Dataset, get_worker_info

START_METHOD = {"multiprocessing_context": "fork"}
if "fork" not in multiprocessing.get_all_start_methods():
    START_METHOD = {}  # Windows: no fork; the loops then need the __main__ guard


class GlobalDraws(Dataset):
    """Each sample: the worker that produced it, and a draw from torch, random and NumPy."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor]:
        info = get_worker_info()  # None in the main process
        draws = [torch.rand(()).item(), random.random(), np.random.rand()]
        return (0 if info is None else info.id), torch.tensor(draws)


def worker_draws(dataset: Dataset, seed: int) -> list[tuple[int, list[float]]]:
    """(worker, rounded draws) for each sample of one epoch, with two workers."""
    loader = DataLoader(
        dataset,
        batch_size=1,
        num_workers=2,
        generator=torch.Generator().manual_seed(seed),
        **START_METHOD,
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
# The two workers take turns, one batch each. Their draws differ from each
# other and from one sample to the next, and the same seed gives the same draws
# again.
#
# The pitfall: a generator created before the workers start
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A dataset that keeps its own generator object, such as NumPy's
# ``default_rng``, creates it in the main process. Every worker receives a copy
# of it *in the same state*, so the workers draw the same numbers:


class OwnGenerator(Dataset):
    """Each sample: the worker, and a draw from a generator made when the dataset is built."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor]:
        info = get_worker_info()
        return (0 if info is None else info.id), torch.tensor(
            [self.rng.random()]
        )


copied = worker_draws(OwnGenerator(), seed=0)
for worker, draws in copied:
    print(f"worker {worker}: {draws}")

# %%
# Worker 1 repeats worker 0's numbers, in every epoch, since each epoch starts
# its workers from the same copy. Draw from torch, ``random`` or
# ``numpy.random`` instead, which the workers seed, or create the generator
# inside the worker from ``torch.initial_seed()``, which is the worker's own
# seed there.
#
# Do workers make loading faster?
# -------------------------------
#
# Workers pay off when producing a sample takes time: reading a file from a
# disk or over the network, or decoding an image. The dataset below waits about
# a millisecond for each sample to play that part. The measurement reads one
# epoch of 384 samples with 0, 1 and 2 workers, keeps the best of two runs, and
# includes the time to start the workers, which every epoch pays again unless
# ``persistent_workers=True`` keeps them.

import time


class SlowReads(Dataset):
    """Samples that each take about a millisecond to produce, like reading a small file."""

    def __len__(self) -> int:
        return 384

    def __getitem__(self, index: int) -> torch.Tensor:
        time.sleep(0.001)  # stands for waiting on the disk
        return torch.full((4,), float(index))


def samples_per_second(
    num_workers: int, repeats: int = 2
) -> tuple[float, float]:
    """Best (samples per second, seconds to the first batch) over ``repeats`` epochs."""
    options = START_METHOD if num_workers > 0 else {}
    loader = DataLoader(
        SlowReads(), batch_size=16, num_workers=num_workers, **options
    )
    best_epoch = best_first = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        first = None
        for _batch in loader:
            if first is None:
                first = time.perf_counter() - start
        best_epoch = min(best_epoch, time.perf_counter() - start)
        best_first = min(best_first, first)
    return len(loader.dataset) / best_epoch, best_first


worker_counts = [0, 1, 2]
results = [samples_per_second(workers) for workers in worker_counts]
for workers, (rate, first) in zip(worker_counts, results, strict=True):
    print(
        f"num_workers={workers}: {rate:5.0f} samples/s, first batch after {first * 1e3:4.0f} ms"
    )
print(
    f"CPU cores on the machine that built this page: {multiprocessing.cpu_count()}"
)

# %%
# The figure shows the measurement made when this page was built.

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(
    [str(w) for w in worker_counts],
    [rate for rate, _ in results],
    color="tab:blue",
)
ax.set_xlabel("num_workers")
ax.set_ylabel("samples per second")
ax.set_title("DataLoader throughput, about 1 ms to produce each sample")
plt.show()

# %%
# The time to the first batch is the start-up cost: the workers must start and
# fill their first batch before anything arrives. With one worker the same work
# only moves to another process, so the epoch is a little slower than with
# none. With two workers, two samples are produced at the same time, which on
# an idle machine with two or more cores brings the rate close to double, minus
# the start-up cost.
#
# Your numbers depend on your cores and on what else runs. When producing a
# sample is CPU work rather than waiting, workers beyond the number of free
# cores add start-up time and memory, and nothing else. When samples are cheap,
# as for tensors already in memory, ``num_workers=0`` is fastest. Measure on
# your machine before choosing.
#
# Takeaways
# ---------
#
# * Give a shuffling loader its own generator,
#   ``generator=torch.Generator().manual_seed(seed)``: the order then depends
#   on the seed alone. Store ``generator.get_state()`` in checkpoints to resume
#   the same epochs.
# * Each worker seeds torch, ``random`` and NumPy from the loader's generator
#   and its worker number; draw from these in a dataset, not from a generator
#   object made before the workers start.
# * For ``spawn`` and ``forkserver``, define datasets at module level and
#   iterate under ``if __name__ == "__main__":``.
# * Workers help when producing a sample is slow, up to the number of free
#   cores, and they cost start-up time: measure before choosing
#   ``num_workers``.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_12_saving_loading.py` saves a
# trained model and loads it back.
