"""
Distributed data parallel on one machine
========================================

Distributed data parallel (DDP) trains one model with several processes at
once. Each process, called a *rank*, holds a full copy of the model and reads
its own share of every batch; after each backward pass the ranks average their
gradients, so all copies take the same step and stay identical. This page runs
it for real, with two processes on a CPU.

After reading this page you will be able to:

* give each rank its own share of the data with ``DistributedSampler`` and
  ``set_epoch``;
* train with ``DistributedDataParallel`` in two processes, and check that they
  reach the parameters that one process reaches on the same batches;
* start the processes of a rank from a script, with ``functools.partial`` and
  ``if __name__ == "__main__":``.

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
# ourselves. (Every cell that does work starts with ``if __name__ ==
# "__main__":``; the section on processes below says why.)

from torch.utils.data.distributed import DistributedSampler

WORLD_SIZE = 2  # processes

if __name__ == "__main__":
    for size, drop_last in ((12, False), (13, False), (13, True)):
        print(f"{size} samples, drop_last={drop_last}:")
        for rank in range(WORLD_SIZE):
            share = DistributedSampler(
                range(size), WORLD_SIZE, rank, seed=0, drop_last=drop_last
            )
            print(f"  rank {rank} reads {list(share)}")

# %%
# With 12 samples the shares are disjoint and cover the data once. 13 samples
# do not divide by two ranks, and every rank must take as many steps as the
# others, so the sampler pads: it repeats the first index of the permutation,
# and one sample is read twice in this epoch. With ``drop_last=True`` it leaves
# out the permutation's last index instead.
#
# The global batch
# ----------------
#
# At step ``k`` every rank computes the gradient on its ``k``-th batch, and DDP
# averages them. With equal batch sizes, the average of the ranks' mean
# gradients is the mean gradient over all their samples: each step is the one
# that a single process would take on the union of the ranks' batches, the
# *global batch*. ``global_batches`` lists them, epoch by epoch; ``set_epoch``
# gives each epoch a new permutation. The data is a toy regression, ``y = 3 x1
# + x2 + 4``.

import torch
from torch.utils.data import TensorDataset

BATCH_PER_RANK = 4  # samples per rank and step: a step uses 2 * 4 = 8 samples
X = torch.randn(48, 2, generator=torch.Generator().manual_seed(0))
y = X @ torch.tensor([[3.0], [1.0]]) + 4.0
dataset = TensorDataset(X, y)


def global_batches(epoch):
    per_rank = []
    for rank in range(WORLD_SIZE):
        sampler = DistributedSampler(dataset, WORLD_SIZE, rank, seed=0)
        sampler.set_epoch(epoch)
        indices = list(sampler)
        starts = range(0, len(indices), BATCH_PER_RANK)
        per_rank.append([indices[i : i + BATCH_PER_RANK] for i in starts])
    return [rank_0 + rank_1 for rank_0, rank_1 in zip(*per_rank, strict=True)]


# %%
# :func:`pttour.ddp_global_batches` is the tested version of this function,
# for any number of ranks.

import pttour

if __name__ == "__main__":
    tested = pttour.ddp_global_batches(
        len(dataset), world_size=2, batch_size=4, epoch=0, seed=0
    )
    print("same as pttour:", tested == global_batches(0))

# %%
# The figure shows, for the first two epochs, which rank reads each of the 48
# samples at each step.

if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    reader = torch.zeros(12, len(dataset))  # 0: nobody, 1: rank 0, 2: rank 1
    for epoch in range(2):
        for step, indices in enumerate(global_batches(epoch)):
            reader[epoch * 6 + step, indices[:BATCH_PER_RANK]] = 1
            reader[epoch * 6 + step, indices[BATCH_PER_RANK:]] = 2
    colours = ["white", "tab:blue", "tab:orange"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.imshow(reader.numpy(), cmap=ListedColormap(colours), aspect="auto")
    ax.axhline(5.5, color="black", linewidth=1)
    ax.set_xlabel("i")
    ax.set_ylabel("k")
    ranks = [Patch(color=colours[r + 1], label=f"rank {r}") for r in (0, 1)]
    ax.legend(handles=ranks, loc="upper right", framealpha=1)
    plt.show()

# %%
# .. figure-caption::
#
#    Which rank reads each sample ``i`` (0 to 47) at each step ``k``: steps 0
#    to 5 are epoch 0, steps 6 to 11, below the line, epoch 1. Blue: rank 0;
#    orange: rank 1; white: not read at that step.
#
# The recipe of a rank
# --------------------
#
# Each rank runs the same script. Written in plain PyTorch, for the ``gloo``
# backend, which runs on the CPU, it reads:
#
# .. code-block:: python
#
#    import torch
#    import torch.distributed as dist
#    from torch.nn.parallel import DistributedDataParallel
#    from torch.utils.data import DataLoader
#    from torch.utils.data.distributed import DistributedSampler
#
#
#    def main():  # build_model, dataset, loss_fn, epochs: your own
#        dist.init_process_group("gloo")  # rank and world size from torchrun
#        torch.manual_seed(0)
#        model = DistributedDataParallel(build_model())
#        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
#        sampler = DistributedSampler(dataset, seed=0)
#        loader = DataLoader(dataset, batch_size=4, sampler=sampler)
#        for epoch in range(epochs):
#            sampler.set_epoch(epoch)  # a new order, the same on every rank
#            for inputs, targets in loader:
#                loss = loss_fn(model(inputs), targets)
#                optimizer.zero_grad()
#                loss.backward()  # DDP averages the gradients here
#                optimizer.step()
#        dist.destroy_process_group()
#
#
#    if __name__ == "__main__":
#        main()
#
# The ranks start from the same weights even without the seed: when
# ``DistributedDataParallel`` wraps the model, it broadcasts rank 0's
# parameters and buffers to the other ranks. The seed makes the run
# reproducible, the same weights from one run to the next. The sampler has a
# seed of its own, which must be the same on every rank, or the shares
# overlap. Randomness that should differ between ranks, such as dropout masks
# or data augmentation, needs a different seed on each rank, for example
# ``torch.manual_seed(seed + dist.get_rank())``.
#
# Processes that start from scratch
# ---------------------------------
#
# ``torchrun`` starts the processes of a script like the one above. This page
# starts them itself, with :func:`pttour.launch`, the tested version of
# ``torchrun`` on one machine: it starts one process per rank, connects them
# over 127.0.0.1 with ``gloo``, runs a function in each and returns what each
# rank returned. :func:`pttour.train_ddp` is the tested version of ``main``
# above.
#
# The ranks are new Python processes, started with the ``spawn`` method. Such a
# process receives the function to run and its arguments by pickling, and finds
# the function by importing its module. Run as a script, this page is imported
# by each new process too, as ``"__mp_main__"``: that is why every cell that
# does work starts with ``if __name__ == "__main__":``, which keeps the ranks
# from running the page again. A lambda, or a function defined inside another
# function, has no importable name: pickling refuses it, and
# :func:`pttour.launch` says so before it starts any process.
# ``functools.partial`` binds the arguments of :func:`pttour.train_ddp`, all
# picklable, and keeps the function importable. We train for two epochs.

import functools

from torch import nn

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
    results = pttour.launch(functools.partial(recipe, epochs=2), WORLD_SIZE)
    for rank, result in enumerate(results):
        losses = [round(loss, 4) for loss in result["epoch_losses"]]
        print(f"rank {rank}: epoch losses {losses}")
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
    for epoch in range(2):
        for indices in global_batches(epoch):
            loss = nn.functional.mse_loss(single(X[indices]), y[indices])
            single_optimizer.zero_grad()
            loss.backward()
            single_optimizer.step()
    state, ddp_state = single.state_dict(), results[0]["model"]
    close = all(torch.allclose(state[k], v) for k, v in ddp_state.items())
    print(f"one process and DDP reach the same parameters: {close}")

# %%
# The two runs agree within ``torch.allclose``'s tolerance. Compare such runs
# with a tolerance: the ranks add up their gradients in another order than one
# process does, so the last bits may differ.
#
# Takeaways
# ---------
#
# * DDP runs one process per rank, each with a full copy of the model.
# * ``backward()`` averages the gradients: each step is one on the global
#   batch.
# * Give every rank a ``DistributedSampler`` with the same seed, and call
#   ``set_epoch(epoch)`` before every epoch.
# * DDP copies rank 0's parameters and buffers to every rank when it wraps the
#   model.
# * Spawned processes import what they run: top-level functions,
#   ``functools.partial``, a ``__main__`` guard.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_21_distributed_checkpoints.py`
# saves and resumes a DDP run, and takes it to many GPUs with ``torchrun``.
#
# Exercises
# ---------
#
# Exercise 1 ★: predict what forgetting ``set_epoch`` does
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict whether the two epochs print the same order;
# then call ``sampler.set_epoch(1)`` before the second and predict again.
#
# .. code-block:: python
#
#    sampler = DistributedSampler(range(12), WORLD_SIZE, rank=0, seed=0)
#    print(list(sampler))  # epoch 0
#    print(list(sampler))  # epoch 1
#
# .. solution::
#
#    Solution
#
#    The permutation depends on the seed and on the epoch that ``set_epoch``
#    gave the sampler. Without the call the epoch stays 0, and every epoch
#    reads the data in the same order.

if __name__ == "__main__":
    sampler = DistributedSampler(range(12), WORLD_SIZE, rank=0, seed=0)
    epoch_0, again = list(sampler), list(sampler)
    sampler.set_epoch(1)
    epoch_1 = list(sampler)
    print(f"without set_epoch: {epoch_0} {again}")
    print(f"after set_epoch(1): {epoch_1}")
    assert epoch_0 == again
    assert epoch_1 != epoch_0

# %%
# Exercise 2 ★★: count the steps of an epoch
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# 50 samples, 4 ranks, 4 samples per rank and step. How many samples does
# each rank read in an epoch, and how many steps does it take, with
# ``drop_last=False`` and with ``drop_last=True``? Predict, then count with a
# ``DataLoader`` over a rank's sampler.
#
# .. solution::
#
#    Solution
#
#    50 does not divide by 4. Padded, each rank reads 13 samples, two of them
#    repeated overall, in 4 steps (the last one of a single sample); with
#    ``drop_last=True``, 12 samples in 3 steps, and two samples are left out
#    of the epoch.

from torch.utils.data import DataLoader

if __name__ == "__main__":
    for drop_last in (False, True):
        sampler = DistributedSampler(
            range(50), num_replicas=4, rank=0, seed=0, drop_last=drop_last
        )
        loader = DataLoader(range(50), batch_size=4, sampler=sampler)
        counts = (len(sampler), len(loader))
        samples, steps = counts
        print(f"drop_last={drop_last}: {samples} samples, {steps} steps")
        assert counts == ((12, 3) if drop_last else (13, 4))
