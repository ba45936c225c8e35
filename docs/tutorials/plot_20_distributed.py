"""
Distributed data parallel on one machine
========================================

Distributed data parallel (DDP) trains one model with several processes at
once. Each process, called a *rank*, holds a full copy of the model and reads
its own share of every batch; after each backward pass the ranks average their
gradients, so all copies take the same step and stay identical. This page runs
it for real, with two processes on a CPU. After reading it you will be able to:

* give each rank its own share of the data with ``DistributedSampler`` and
  ``set_epoch``;
* train with ``DistributedDataParallel`` in two processes, and check that they
  reach the parameters that one process reaches on the same batches;
* save a checkpoint from rank 0 only, and load it on every rank;
* run the same training on many GPUs and machines with ``torchrun`` and the
  NCCL backend.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Who reads what: DistributedSampler
# ----------------------------------
#
# Every rank builds the same ``DataLoader``, but with a ``DistributedSampler``
# that knows the number of ranks and its own rank. All samplers draw the same
# permutation from their common seed and the epoch number; rank ``r`` then
# keeps every second index (every ``num_replicas``-th in general), starting at
# position ``r``. No process group is needed to try it: we pass both numbers
# ourselves.

from torch.utils.data.distributed import DistributedSampler

WORLD_SIZE = 2  # processes

if __name__ == "__main__":
    for size, drop_last in ((12, False), (13, False), (13, True)):
        shares = [
            list(
                DistributedSampler(
                    range(size), WORLD_SIZE, rank, seed=0, drop_last=drop_last
                )
            )
            for rank in range(WORLD_SIZE)
        ]
        print(
            f"{size} samples, drop_last={drop_last}: rank 0 {shares[0]}, rank 1 {shares[1]}"
        )

# %%
# With 12 samples the shares are disjoint and cover the data once. 13 samples
# do not divide by two ranks, and every rank must take as many steps as the
# others, so the sampler pads: it repeats the first index of the permutation,
# and one sample is read twice in this epoch. With ``drop_last=True`` it leaves
# out the permutation's last index instead.
#
# Processes that start from scratch
# ---------------------------------
#
# The ranks are new Python processes, started with the ``spawn`` method. Such a
# process receives the function to run and its arguments by pickling, and finds
# the function by importing its module. Run as a script, this page is imported
# by each new process too, as ``"__mp_main__"``: that is why every cell that
# does work starts with ``if __name__ == "__main__":``, which keeps the ranks
# from running the page again.
#
# The function the ranks run is :func:`pttour.train_ddp`, the tested version of
# the recipe each rank follows: seed and build the model, wrap it in
# ``DistributedDataParallel``, read through a ``DistributedSampler``, call
# ``set_epoch`` before each epoch, save checkpoints from rank 0.
# ``functools.partial`` binds its arguments, all picklable. The data is a toy
# regression, ``y = 3 x1 + x2 + 4``.

import functools

import torch
from torch import nn
from torch.utils.data import TensorDataset

import pttour

BATCH_PER_RANK = 4  # samples per rank and step: a step uses 2 * 4 = 8 samples
X = torch.randn(48, 2, generator=torch.Generator().manual_seed(0))
y = X @ torch.tensor([[3.0], [1.0]]) + 4.0
dataset = TensorDataset(X, y)
recipe = functools.partial(
    pttour.train_ddp,
    build_model=functools.partial(nn.Linear, 2, 1),
    dataset=dataset,
    loss_fn=nn.MSELoss(),
    make_optimizer=functools.partial(torch.optim.SGD, lr=0.1),
    batch_size=BATCH_PER_RANK,
    seed=0,
)

# %%
# A lambda, or a function defined inside another function, has no importable
# name, and pickling refuses it before any process starts:

if __name__ == "__main__":
    import pickle

    try:
        pickle.dumps(lambda rank, world_size: rank)
    except (pickle.PicklingError, AttributeError) as err:
        print(f"{type(err).__name__}: {err}")

# %%
# The global batch
# ----------------
#
# At step ``k`` every rank computes the gradient on its ``k``-th batch, and DDP
# averages them. With equal batch sizes, the average of the ranks' mean
# gradients is the mean gradient over all their samples: each step is the one
# that a single process would take on the union of the ranks' batches, the
# *global batch*. :func:`pttour.ddp_global_batches` lists them. The figure
# shows, for the first two epochs, which rank reads each of the 48 samples at
# each step; ``set_epoch`` gives the second epoch a new order.

if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    def global_batches(epoch):
        return pttour.ddp_global_batches(
            len(dataset),
            world_size=WORLD_SIZE,
            batch_size=BATCH_PER_RANK,
            epoch=epoch,
            seed=0,
        )

    reader = torch.zeros(
        12, len(dataset)
    )  # 0: not read at this step, 1: rank 0, 2: rank 1
    for epoch in range(2):
        for step, indices in enumerate(global_batches(epoch)):
            reader[epoch * 6 + step, indices[:BATCH_PER_RANK]] = 1
            reader[epoch * 6 + step, indices[BATCH_PER_RANK:]] = 2
    fig, ax = plt.subplots(figsize=(6, 3.5))
    colours = ListedColormap(["white", "tab:blue", "tab:orange"])
    ax.imshow(
        reader.numpy(),
        cmap=colours,
        vmin=0,
        vmax=2,
        aspect="auto",
        interpolation="nearest",
    )
    ax.axhline(5.5, color="black", linewidth=1)
    ax.set_xlabel("sample index (blue: rank 0, orange: rank 1)")
    ax.set_ylabel("step (epoch 0: 0-5, epoch 1: 6-11)")
    ax.set_title("Which rank reads each sample, step by step")
    plt.show()

# %%
# Training with two processes
# ---------------------------
#
# :func:`pttour.launch` starts one process per rank, connects them over
# 127.0.0.1 with the ``gloo`` backend, which runs on the CPU, runs the function
# in each, and returns what each rank returned. We train for two epochs, with a
# checkpoint after each, in a temporary folder.

import tempfile
from pathlib import Path

if __name__ == "__main__":
    workdir = tempfile.TemporaryDirectory()
    checkpoints = Path(workdir.name) / "checkpoints"
    results = pttour.launch(
        functools.partial(recipe, epochs=2, checkpoint_dir=checkpoints),
        WORLD_SIZE,
    )
    for rank, result in enumerate(results):
        print(
            f"rank {rank}: epoch losses {[round(loss, 4) for loss in result['epoch_losses']]}"
        )
    first, second = (result["model"] for result in results)
    identical = all(torch.equal(first[k], second[k]) for k in first)
    print(f"both ranks hold identical parameters: {identical}")

# %%
# Both ranks report the same losses (averaged over the ranks) and hold
# bit-identical parameters. Now the check that DDP does what it promises: one
# process, with a model built from the same seed, takes one ordinary step per
# global batch.

if __name__ == "__main__":
    torch.manual_seed(0)
    single = nn.Linear(2, 1)
    single_optimizer = torch.optim.SGD(single.parameters(), lr=0.1)

    def replay_epoch(epoch):
        for indices in global_batches(epoch):
            loss = nn.functional.mse_loss(single(X[indices]), y[indices])
            single_optimizer.zero_grad()
            loss.backward()
            single_optimizer.step()

    def compare(ddp_state):
        close = all(
            torch.allclose(single.state_dict()[k], v)
            for k, v in ddp_state.items()
        )
        print(
            f"one process and DDP reach the same parameters (allclose): {close}"
        )

    for epoch in range(2):
        replay_epoch(epoch)
    compare(results[0]["model"])

# %%
# The two runs agree. Compare such runs with a tolerance: the ranks add up
# their gradients in another order than one process does, so the last bits may
# differ.
#
# Checkpoints under DDP
# ---------------------
#
# Every rank holds the same weights, so one file is enough, and rank 0 writes
# it: if every rank wrote the same path, the writes would collide, and a rank
# could load a file that another is still writing. So the other ranks wait
# until rank 0 has written it. The file holds the wrapped model's state dict,
# without DDP's ``module.`` prefix: a plain model loads it.

if __name__ == "__main__":
    files = sorted(checkpoints.iterdir())
    print(f"files: {[path.name for path in files]}")
    plain = nn.Linear(2, 1)
    pttour.load_checkpoint(files[-1], plain)
    same = all(
        torch.equal(plain.state_dict()[k], v)
        for k, v in results[0]["model"].items()
    )
    print(
        f"a plain nn.Linear loads the last one; equal to the ranks' parameters: {same}"
    )

# %%
# Loading is the opposite: every rank holds its own copy of the model and of
# the optimizer state, so every rank loads. We launch the recipe again, for
# four epochs, into the same folder: each rank finds the checkpoint of epoch 2,
# loads it and trains epochs 3 and 4. The single process continues too, and
# both must still agree.

if __name__ == "__main__":
    resumed = pttour.launch(
        functools.partial(recipe, epochs=4, checkpoint_dir=checkpoints),
        WORLD_SIZE,
    )
    print(
        f"ranks started at epochs {[result['start_epoch'] for result in resumed]}"
    )
    for epoch in range(2, 4):
        replay_epoch(epoch)
    compare(resumed[0]["model"])
    workdir.cleanup()

# %%
# Pitfall: forgetting ``set_epoch``. The sampler's permutation depends on its
# seed and on the epoch that ``set_epoch`` gave it. Without the call the epoch
# stays 0, and every epoch reads the data in the same order:

if __name__ == "__main__":
    sampler = DistributedSampler(range(12), WORLD_SIZE, rank=0, seed=0)
    print(f"two epochs without set_epoch: {list(sampler)} {list(sampler)}")
    sampler.set_epoch(1)
    print(f"after set_epoch(1):           {list(sampler)}")

# %%
# Many machines: torchrun and NCCL
# --------------------------------
#
# On real hardware you start the processes with ``torchrun``, one per GPU, on
# every machine. It sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
# ``MASTER_ADDR`` and ``MASTER_PORT`` in each process, and the script reads
# them. The recipe is the one above, with the ``nccl`` backend, which moves
# CUDA tensors between GPUs, and one GPU per process. Written out in plain
# PyTorch:
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
#
#     def main():  # build_model, dataset, loss_fn and epochs stand for your own
#         dist.init_process_group("nccl")  # reads the variables torchrun set
#         local_rank = int(os.environ["LOCAL_RANK"])  # this process's GPU on its machine
#         torch.cuda.set_device(local_rank)
#         torch.manual_seed(0)  # the same initial weights on every rank
#         model = DistributedDataParallel(build_model().cuda(), device_ids=[local_rank])
#         optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
#         sampler = DistributedSampler(dataset, seed=0)  # rank and world size from the group
#         loader = DataLoader(dataset, batch_size=64, sampler=sampler, num_workers=4)
#         for epoch in range(epochs):
#             sampler.set_epoch(epoch)
#             for inputs, targets in loader:
#                 loss = loss_fn(model(inputs.cuda()), targets.cuda())
#                 optimizer.zero_grad()
#                 loss.backward()  # DDP averages the gradients here
#                 optimizer.step()
#             if dist.get_rank() == 0:
#                 state = {"model": model.module.state_dict(), "optimizer": optimizer.state_dict()}
#                 torch.save(state, f"/shared/run/epoch-{epoch + 1:04d}.pt")
#             dist.barrier()  # nobody reads the file before rank 0 has written it
#         dist.destroy_process_group()
#
#
#     if __name__ == "__main__":
#         main()
#
# Start it on a machine with 8 GPUs as below; ``--nnodes`` and
# ``--rdzv-endpoint`` spread it over several machines.
#
# .. code-block:: bash
#
#     torchrun --standalone --nproc-per-node=8 train.py
#
# The global batch is the number of processes times the batch per process, so
# the learning rate chosen for one GPU may need adjusting, and checkpoints must
# go to a file system that every machine can read.
# :func:`pttour.save_checkpoint_ddp` and :func:`pttour.load_checkpoint_ddp` are
# the tested versions of the save and the load: the save is atomic, and if it
# fails on rank 0, every rank raises instead of waiting.
#
# Takeaways
# ---------
#
# * DDP runs one process per rank, each with a full copy of the model; the
#   ranks average their gradients in ``backward()``, so each step equals one
#   step on the global batch.
# * Give every rank a ``DistributedSampler`` with the same seed; call
#   ``set_epoch(epoch)`` before every epoch. It pads data that does not divide
#   by the number of ranks.
# * Spawned processes import the function they run: define it in a module, bind
#   its arguments with ``functools.partial``, guard the script with ``if
#   __name__ == "__main__":``.
# * Save from rank 0 only, and make the other ranks wait; load on every rank.
# * On GPUs and across machines: ``torchrun``, the ``nccl`` backend, one GPU
#   per process.
