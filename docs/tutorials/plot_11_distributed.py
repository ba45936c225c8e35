"""
Distributed data parallel on one machine
========================================

Distributed data parallel (DDP) trains one model with several processes at once. Each
process, called a *rank*, holds a full copy of the model and reads its own share of every
batch; after each backward pass the ranks average their gradients, so all copies take the
same step and stay identical. This page runs it for real, with two processes on a CPU.
After reading it you will be able to:

* start a group of processes that talk to each other with :func:`pttour.launch`;
* give each rank its own share of the data with ``DistributedSampler``, and a new order
  in every epoch with ``set_epoch``;
* train with ``DistributedDataParallel`` through :func:`pttour.train_ddp`, and check that
  two processes reach the parameters that one process reaches on the same global batches;
* save a checkpoint from rank 0 only and load it on every rank, with
  :func:`pttour.save_checkpoint_ddp` and :func:`pttour.load_checkpoint_ddp`;
* run the same training on many GPUs and machines with ``torchrun`` and the NCCL backend.
"""

# %%
# Setting up
# ----------
#
# :func:`pttour.launch` starts one new Python process per rank with the ``spawn`` method,
# connects them with the ``gloo`` backend, which runs on the CPU, and returns what each
# rank returned. A spawned process starts from scratch: it receives the function to run
# and its arguments by pickling, and finds the function by importing its module. So the
# function must live in an importable module; here it is :func:`pttour.train_ddp`, with
# its arguments bound by ``functools.partial``. The model, the optimizer and the loss are
# given in the same way, as picklable objects from ``torch``.
#
# When you run this page as a script, each new process also imports the script itself,
# under the name ``"__mp_main__"``, before it starts its rank. That is why every cell below
# that does work starts with ``if __name__ == "__main__":``: the guard keeps the ranks from
# running the page again, and from trying to start processes of their own, which
# ``multiprocessing`` refuses with a ``RuntimeError``.

import functools

import torch
from torch import nn

import pttour

WORLD_SIZE = 2  # processes
BATCH_PER_RANK = 4  # samples per rank and step: a step uses 2 * 4 = 8 samples
X = torch.rand(48, 2, generator=torch.Generator().manual_seed(0))
y = X @ torch.tensor([[3.0], [1.0]]) + 4  # the plane y = 3*x1 + x2 + 4
dataset = pttour.SequenceDataset(X, y)
recipe = functools.partial(
    pttour.train_ddp,
    build_model=functools.partial(nn.Linear, 2, 1),
    dataset=dataset,
    loss_fn=nn.MSELoss(),
    make_optimizer=functools.partial(torch.optim.SGD, lr=0.1),
    batch_size=BATCH_PER_RANK,
    seed=0,
)

if __name__ == "__main__":
    device = pttour.pick_device()
    print(f"device: {device}; the ranks below run on the CPU with the gloo backend")

# %%
# Who reads what: DistributedSampler
# ----------------------------------
#
# Every rank builds the same ``DataLoader``, but with a ``DistributedSampler`` that knows
# the number of ranks and its own rank. All samplers draw the same permutation of the
# dataset from their common seed and the epoch number; rank ``r`` then keeps every second
# index (every ``WORLD_SIZE``-th in general), starting at position ``r``. The shares are
# disjoint and together cover the dataset once. We show it on twelve samples.

from torch.utils.data.distributed import DistributedSampler

if __name__ == "__main__":
    for rank in range(WORLD_SIZE):
        sampler = DistributedSampler(range(12), num_replicas=WORLD_SIZE, rank=rank, seed=0)
        sampler.set_epoch(0)
        print(f"rank {rank} reads {list(sampler)}")

# %%
# Each rank cuts its share into batches of ``BATCH_PER_RANK`` samples. At step ``k`` every
# rank computes the gradient on its ``k``-th batch, and DDP averages them. With equal batch
# sizes, the average of the ranks' mean gradients is the mean gradient over all their
# samples: each step is the step that one process would take on the union of the ranks'
# batches, the *global batch*. :func:`pttour.ddp_global_batches` lists those global batches.

if __name__ == "__main__":
    for step, indices in enumerate(
        pttour.ddp_global_batches(12, world_size=WORLD_SIZE, batch_size=2, epoch=0, seed=0)
    ):
        print(
            f"step {step}: global batch {indices}  (rank 0: {indices[:2]}, rank 1: {indices[2:]})"
        )

# %%
# The figure shows the same for the 48 samples we train on, in the first two epochs:
# each row is a step, each column a sample, and the colour says which rank reads it.
# ``set_epoch`` gives the second epoch a new order.

if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    grid = torch.full((12, len(dataset)), -1)
    for epoch in range(2):
        batches = pttour.ddp_global_batches(
            len(dataset), world_size=WORLD_SIZE, batch_size=BATCH_PER_RANK, epoch=epoch, seed=0
        )
        for step, indices in enumerate(batches):
            grid[epoch * len(batches) + step, indices[:BATCH_PER_RANK]] = 0
            grid[epoch * len(batches) + step, indices[BATCH_PER_RANK:]] = 1
    colours = ["white", "tab:blue", "tab:orange"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.imshow(
        (grid + 1).numpy(), cmap=ListedColormap(colours), aspect="auto", interpolation="nearest"
    )
    ax.axhline(5.5, color="black", linewidth=1)
    ax.set_xlabel("sample index")
    ax.set_ylabel("step (epoch 0: 0-5, epoch 1: 6-11)")
    ax.set_title("Which rank reads each sample, step by step")
    ax.legend(
        handles=[Patch(color=colours[1], label="rank 0"), Patch(color=colours[2], label="rank 1")],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize="small",
    )
    plt.show()

# %%
# Training with two processes
# ---------------------------
#
# :func:`pttour.train_ddp` is the recipe each rank runs: seed and build the model (the same
# initial weights everywhere), wrap it in ``DistributedDataParallel``, read through a
# ``DistributedSampler`` and call ``set_epoch`` before each epoch. Given a
# ``checkpoint_dir``, it saves a checkpoint after each epoch and resumes from the newest
# one it finds.
#
# We launch it on two ranks for two epochs. Everything is written to a temporary folder.

import tempfile
from pathlib import Path

if __name__ == "__main__":
    workdir = tempfile.TemporaryDirectory()
    checkpoints = Path(workdir.name) / "checkpoints"
    results = pttour.launch(
        functools.partial(recipe, epochs=2, checkpoint_dir=checkpoints), WORLD_SIZE
    )
    for rank, result in enumerate(results):
        losses = [round(loss, 4) for loss in result["epoch_losses"]]
        print(f"rank {rank}: epoch losses {losses}")
    identical = all(
        torch.equal(results[0]["model"][name], results[1]["model"][name])
        for name in results[0]["model"]
    )
    print(f"both ranks hold identical parameters: {identical}")

# %%
# Both ranks report the same losses (:func:`pttour.train_ddp` averages them over the
# ranks) and hold bit-identical parameters.
#
# Now the check that DDP does what it promises. One process, with a model built from the
# same seed, takes one step per global batch, in the order the ranks read them.

if __name__ == "__main__":
    torch.manual_seed(0)
    single = nn.Linear(2, 1)
    single_optimizer = torch.optim.SGD(single.parameters(), lr=0.1)

    def replay_epoch(epoch: int) -> None:
        """One epoch of the single process: one step per global batch of the DDP run."""
        for indices in pttour.ddp_global_batches(
            len(dataset), world_size=WORLD_SIZE, batch_size=BATCH_PER_RANK, epoch=epoch, seed=0
        ):
            pttour.train_step(single, X[indices], y[indices], nn.MSELoss(), single_optimizer)

    def compare(ddp_state: dict[str, torch.Tensor]) -> None:
        """Print how far the single process's parameters are from the DDP run's."""
        gap = max((single.state_dict()[k] - v).abs().max().item() for k, v in ddp_state.items())
        close = all(torch.allclose(single.state_dict()[k], v) for k, v in ddp_state.items())
        print(f"max abs difference {gap:.1e}, torch.allclose: {close}")

    for epoch in range(2):
        replay_epoch(epoch)
    compare(results[0]["model"])

# %%
# The two runs reach the same parameters; here they are even bit-identical. In general,
# compare them with a tolerance, as ``torch.allclose`` does: the ranks add up their
# gradients in another order than one process does, and the result of a floating-point
# sum depends on the order, so the last bits may differ.
#
# Checkpoints under DDP
# ---------------------
#
# Every rank holds the same weights, so one file is enough: rank 0 writes it. The other
# ranks must not read it before it is complete, so :func:`pttour.save_checkpoint_ddp` makes
# them wait until rank 0 has written the file, and tells them if writing failed. The
# file holds the wrapped model's state dict (without DDP's ``module.`` prefix), so an
# ordinary model loads it.

if __name__ == "__main__":
    print(f"files: {sorted(path.name for path in checkpoints.iterdir())}")
    plain = nn.Linear(2, 1)
    checkpoint = pttour.load_checkpoint(checkpoints / "epoch-0002.pt", plain)
    print(f"epoch {checkpoint.epoch}, keys {list(plain.state_dict())}")
    same = all(torch.equal(plain.state_dict()[k], v) for k, v in results[0]["model"].items())
    print(f"equal to the ranks' parameters: {same}")

# %%
# Loading is the opposite: every rank holds its own copy of the model and of the
# optimizer state, so every rank loads, with :func:`pttour.load_checkpoint_ddp`. We launch
# the recipe again, now for four epochs, into the same folder: each rank finds the
# checkpoint of epoch 2, loads it and trains epochs 3 and 4. The single process continues
# too, and both must still agree.

if __name__ == "__main__":
    resumed = pttour.launch(
        functools.partial(recipe, epochs=4, checkpoint_dir=checkpoints), WORLD_SIZE
    )
    for rank, result in enumerate(resumed):
        print(f"rank {rank} started at epoch {result['start_epoch']}")
    print(f"epoch losses {[round(loss, 4) for loss in resumed[0]['epoch_losses']]}")
    for epoch in range(2, 4):
        replay_epoch(epoch)
    compare(resumed[0]["model"])
    print(f"files: {sorted(path.name for path in checkpoints.iterdir())}")

# %%
# Many machines: torchrun and NCCL
# --------------------------------
#
# :func:`pttour.launch` is a small, single-machine version of ``torchrun``. On real
# hardware you start the processes with ``torchrun``, one per GPU, on every machine. It
# sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in each
# process, and the script reads them. The recipe is the one above, with two changes: the
# ``nccl`` backend, which moves CUDA tensors between GPUs, and one GPU per process.
#
# .. code-block:: python
#
#     import os
#
#     import torch
#     import torch.distributed as dist
#     from torch.nn.parallel import DistributedDataParallel
#     from torch.utils.data import DataLoader
#     from torch.utils.data.distributed import DistributedSampler
#
#     import pttour
#
#
#     def main():  # build_model, dataset and epochs stand for your own
#         dist.init_process_group("nccl")  # reads the variables torchrun set
#         local_rank = int(os.environ["LOCAL_RANK"])  # this process's GPU on its machine
#         torch.cuda.set_device(local_rank)
#         torch.manual_seed(0)
#         model = DistributedDataParallel(build_model().cuda(), device_ids=[local_rank])
#         optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
#         sampler = DistributedSampler(dataset, seed=0)  # rank and world size from the group
#         loader = DataLoader(dataset, batch_size=64, sampler=sampler, num_workers=4)
#         for epoch in range(epochs):
#             sampler.set_epoch(epoch)
#             for inputs, targets in loader:
#                 inputs, targets = inputs.cuda(), targets.cuda()
#                 ...  # the usual training step on `model`
#             pttour.save_checkpoint_ddp(f"/shared/run/epoch-{epoch + 1:04d}.pt", model, optimizer)
#         dist.destroy_process_group()
#
#
#     if __name__ == "__main__":
#         main()
#
# Start it on one machine with 8 GPUs, or on two such machines by running the second
# command on each of them:
#
# .. code-block:: bash
#
#     torchrun --standalone --nproc-per-node=8 train.py
#     torchrun --nnodes=2 --nproc-per-node=8 --rdzv-backend=c10d \
#         --rdzv-endpoint=node0.example.com:29500 --rdzv-id=run42 train.py
#
# A few things change with the scale. The global batch is the number of processes times
# the batch per process, so the learning rate chosen for one GPU may need adjusting.
# Checkpoints must go to a file system that every machine can read. And
# :func:`pttour.save_checkpoint_ddp` and :func:`pttour.load_checkpoint_ddp` work with NCCL
# as they do with gloo.
#
# Pitfalls, reproduced live
# -------------------------
#
# Pitfall: forgetting ``set_epoch``
# ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#
# A ``DistributedSampler`` draws its permutation from its seed plus the epoch that
# ``set_epoch`` gave it. Without the call the epoch stays 0, and every epoch reads the
# data in the same order.

if __name__ == "__main__":
    forgetful = DistributedSampler(range(12), num_replicas=WORLD_SIZE, rank=0, seed=0)
    careful = DistributedSampler(range(12), num_replicas=WORLD_SIZE, rank=0, seed=0)
    for epoch in range(3):
        careful.set_epoch(epoch)
        print(f"epoch {epoch}: without set_epoch {list(forgetful)}, with {list(careful)}")

# %%
# Call ``sampler.set_epoch(epoch)`` at the start of every epoch, on every rank, with the
# same value, as :func:`pttour.train_ddp` does.
#
# Pitfall: no DistributedSampler
# ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#
# An ordinary ``DataLoader`` knows nothing of ranks: each rank reads the whole dataset.
# We count how often each of the 48 samples is read in one epoch, by both ranks
# together, and how many steps the epoch takes.

from collections import Counter

from torch.utils.data import DataLoader

if __name__ == "__main__":
    indices = range(len(dataset))  # stands for the dataset: the loaders yield indices
    for label, use_sampler in (("plain DataLoader", False), ("DistributedSampler", True)):
        reads = Counter()
        for rank in range(WORLD_SIZE):
            sampler = DistributedSampler(indices, WORLD_SIZE, rank) if use_sampler else None
            loader = DataLoader(indices, batch_size=BATCH_PER_RANK, sampler=sampler)
            for batch in loader:
                reads.update(batch.tolist())
        print(
            f"{label + ':':19} each sample read {sorted(set(reads.values()))} time(s) per epoch, "
            f"{len(loader)} steps"
        )

# %%
# Without the sampler every sample is used twice per epoch, and an epoch takes twice as
# many steps. Worse, without shuffling (or with the same shuffling seed) both ranks read
# the same batches: the average of two equal gradients is that gradient, so the second
# process does no useful work at all. ``DistributedSampler`` splits the data instead.
#
# Pitfall: a function the new processes cannot import
# ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#
# A spawned process finds the function it runs by importing it. A lambda, or a function
# defined inside another function, has no name to import; a function defined in a
# notebook or an interactive session has no file to import it from. :func:`pttour.launch`
# checks this before it starts anything, instead of letting the ranks fail one by one.

if __name__ == "__main__":
    try:
        pttour.launch(lambda rank, world_size: rank, WORLD_SIZE)
    except TypeError as err:
        print(f"{type(err).__name__}: {err}")

# %%
# Put the function in a module (a ``.py`` file) and import it; bind its arguments with
# ``functools.partial``, as this page does.
#
# Pitfall: saving from every rank
# ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#
# If every rank calls ``torch.save`` on the same path, several processes write the same
# file at once; and a rank that goes on to load it may find a file that another rank is
# still writing. A half-written file is what such a rank would read:

if __name__ == "__main__":
    complete = checkpoints / "epoch-0004.pt"
    half_written = Path(workdir.name) / "half-written.pt"
    half_written.write_bytes(complete.read_bytes()[: complete.stat().st_size // 2])
    try:
        pttour.load_checkpoint(half_written, nn.Linear(2, 1))
    except pttour.CorruptCheckpointError as err:
        print(f"{type(err).__name__}: {err}".replace(workdir.name, "<tmp>"))

# %%
# :func:`pttour.save_checkpoint_ddp` avoids both problems: only rank 0 writes, to a
# temporary file that replaces the old one in a single step, and the other ranks wait
# for its message before they go on. The folder above holds exactly one file per epoch.

if __name__ == "__main__":
    workdir.cleanup()

# %%
# Takeaways
# ---------
#
# * DDP runs one process per rank, each with a full copy of the model; the ranks average
#   their gradients in ``backward()``, so each step equals one step on the global batch.
# * Give every rank a ``DistributedSampler`` with the same seed, and call
#   ``set_epoch(epoch)`` before every epoch.
# * Processes started with ``spawn`` import the function they run: define it in a module,
#   bind its arguments with ``functools.partial``, and guard the script's own code with
#   ``if __name__ == "__main__":``.
# * Save from rank 0 only, and make the other ranks wait; load on every rank.
# * On GPUs and across machines: ``torchrun``, the ``nccl`` backend, one GPU per process,
#   checkpoints on a shared file system.
# * :func:`pttour.launch`, :func:`pttour.train_ddp`, :func:`pttour.ddp_global_batches`,
#   :func:`pttour.save_checkpoint_ddp` and :func:`pttour.load_checkpoint_ddp` package
#   these steps.
