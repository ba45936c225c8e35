"""
Checkpoints under DDP, and torchrun
===================================

A DDP run keeps one copy of the model per rank, all identical. A checkpoint
needs only one of them, written once, and every rank loads it back to resume.
This page adds checkpoints to the recipe of
:ref:`sphx_glr_auto_tutorials_plot_20_distributed.py`, resumes a run of two
processes on a CPU, and then says what changes on many GPUs and machines.

After reading this page you will be able to:

* save a checkpoint from rank 0 only, while the other ranks wait;
* load it on every rank, and resume a DDP run where it stopped;
* load a DDP checkpoint into a plain model;
* run the same training on many GPUs and machines with ``torchrun`` and the
  NCCL backend.

**What you need:** PyTorch ≥ 2.6 and pttour. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# One file, written by rank 0
# ---------------------------
#
# Every rank holds the same weights, so one file is enough, and rank 0 writes
# it: if every rank wrote the same path, the writes would collide, and a rank
# could load a file that another is still writing. So the other ranks wait
# until rank 0 has written it. Loading is the opposite: every rank holds its
# own copy of the model and of the optimizer state, so every rank loads. In
# the rank's recipe of the previous page:
#
# .. code-block:: python
#
#    def main():  # build_model, dataset, loss_fn, epochs, path: your own
#        dist.init_process_group("gloo")
#        torch.manual_seed(0)
#        model = DistributedDataParallel(build_model())
#        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
#        start = 0
#        if path.exists():  # every rank loads
#            state = torch.load(path, map_location="cpu", weights_only=True)
#            model.module.load_state_dict(state["model"])
#            optimizer.load_state_dict(state["optimizer"])
#            start = state["epoch"] + 1
#        sampler = DistributedSampler(dataset, seed=0)
#        loader = DataLoader(dataset, batch_size=4, sampler=sampler)
#        for epoch in range(start, epochs):
#            sampler.set_epoch(epoch)
#            ...  # the training steps of the previous page
#            if dist.get_rank() == 0:
#                state = {
#                    "epoch": epoch,
#                    "model": model.module.state_dict(),
#                    "optimizer": optimizer.state_dict(),
#                }
#                torch.save(state, path)
#            dist.barrier()  # the others wait until the file is written
#        dist.destroy_process_group()
#
# ``model.module`` is the model that ``DistributedDataParallel`` wraps: its
# state dict has no ``module.`` prefix, so a plain model loads the file. The
# sampler needs the epoch too: ``set_epoch(epoch)`` gives the resumed epochs
# the orders that an uninterrupted run would have used.
#
# A run that saves
# ----------------
#
# :func:`pttour.train_ddp`, the tested version of ``main``, saves a checkpoint
# after every epoch when it gets a ``checkpoint_dir``, and resumes from the
# newest one there. We run the two epochs of the previous page again, on the
# same data, now with checkpoints. As there, the ranks import this page, so
# every cell that does work starts with ``if __name__ == "__main__":``.

import functools
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

import pttour

WORLD_SIZE, BATCH_PER_RANK = 2, 4
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

if __name__ == "__main__":
    workdir = tempfile.TemporaryDirectory()
    checkpoints = Path(workdir.name) / "checkpoints"
    first = pttour.launch(
        functools.partial(recipe, epochs=2, checkpoint_dir=checkpoints),
        WORLD_SIZE,
    )
    files = sorted(checkpoints.iterdir())
    print(f"files: {[path.name for path in files]}")
    plain = nn.Linear(2, 1)
    plain.load_state_dict(torch.load(files[-1], weights_only=True)["model"])
    state, ddp_state = plain.state_dict(), first[0]["model"]
    same = all(torch.equal(state[k], v) for k, v in ddp_state.items())
    print(f"a plain nn.Linear loads the last one: {same}")

# %%
# The tested save and load
# ------------------------
#
# :func:`pttour.save_checkpoint_ddp` and :func:`pttour.load_checkpoint_ddp` are
# the tested versions of the save and the load, and ``train_ddp`` wrote the
# files above with the first. The save is atomic, as
# :ref:`sphx_glr_auto_tutorials_plot_13_checkpoints_resume.py` teaches, and if
# it fails on rank 0, every rank raises instead of waiting. The load leaves
# each rank's random state alone (Exercise 3 shows why). Both need a process
# group; a group of one process, in this page's own process, is enough to
# call them. ``HashStore`` is a rendezvous that lives in this process.

import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

if __name__ == "__main__":
    store = dist.HashStore()
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    torch.manual_seed(0)
    wrapped = DistributedDataParallel(nn.Linear(2, 1))
    path = Path(workdir.name) / "one-rank.pt"
    pttour.save_checkpoint_ddp(path, wrapped)
    restored = DistributedDataParallel(nn.Linear(2, 1))
    pttour.load_checkpoint_ddp(path, restored)
    pairs = zip(wrapped.parameters(), restored.parameters(), strict=True)
    print("saved and loaded:", all(torch.equal(a, b) for a, b in pairs))
    dist.destroy_process_group()

# %%
# Resuming a DDP run
# ------------------
#
# We launch the recipe again, for four epochs, into the same folder: each rank
# finds the checkpoint of epoch 2, loads it and trains epochs 3 and 4. To
# check the result, one process replays all four epochs with one ordinary step
# per global batch, :func:`pttour.ddp_global_batches` from the previous page.


def replay(model, optimizer, epochs):
    # One process, one step per global batch of each epoch.
    for epoch in epochs:
        for indices in pttour.ddp_global_batches(
            len(dataset), world_size=2, batch_size=4, epoch=epoch, seed=0
        ):
            loss = nn.functional.mse_loss(model(X[indices]), y[indices])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def agree(model, ddp_state):
    state = model.state_dict()
    return all(torch.allclose(state[k], v) for k, v in ddp_state.items())


if __name__ == "__main__":
    resumed = pttour.launch(
        functools.partial(recipe, epochs=4, checkpoint_dir=checkpoints),
        WORLD_SIZE,
    )
    print(f"ranks started at epochs {[r['start_epoch'] for r in resumed]}")
    torch.manual_seed(0)
    single = nn.Linear(2, 1)
    replay(single, torch.optim.SGD(single.parameters(), lr=0.1), range(4))
    print(f"one process agrees: {agree(single, resumed[0]['model'])}")

# %%
# The resumed run took the steps that an uninterrupted one would have taken:
# the weights, the optimizer state and the sampler's epoch came back.
#
# Many GPUs and machines: torchrun and NCCL
# -----------------------------------------
#
# On real hardware you start the processes with ``torchrun``, one per GPU, on
# every machine: ``torchrun --standalone --nproc-per-node=8 train.py`` on one
# machine with 8 GPUs, with ``--nnodes`` and ``--rdzv-endpoint`` on several.
# It sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
# ``MASTER_PORT`` in each process, and ``init_process_group`` reads them. The
# recipe changes in a few lines:
#
# .. code-block:: python
#
#    local_rank = int(os.environ["LOCAL_RANK"])  # this machine's GPU number
#    dist.init_process_group("nccl")  # moves CUDA tensors between GPUs
#    torch.cuda.set_device(local_rank)  # one GPU per process
#    model = DistributedDataParallel(
#        build_model().cuda(), device_ids=[local_rank]
#    )
#    state = torch.load(
#        path, map_location=f"cuda:{local_rank}", weights_only=True
#    )
#
# Each batch goes to that GPU too, ``inputs.cuda()``. The global batch is the
# number of processes times the batch per process, so the learning rate chosen
# for one GPU may need adjusting, and checkpoints must go to a file system that
# every machine can read.
#
# Takeaways
# ---------
#
# * Save ``model.module``'s state dict from rank 0 only; the others wait.
# * Load on every rank, and set the sampler's epoch to resume from.
# * A resumed DDP run takes the steps of an uninterrupted one.
# * On GPUs: ``torchrun``, the ``nccl`` backend, one GPU per process.
#
# Exercises
# ---------
#
# Exercise 1 ★: predict the keys of a wrapped model
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it (it needs a process group), predict what this prints;
# then load ``wrapped.state_dict()`` into a plain ``nn.Linear(2, 1)`` and read
# what happens.
#
# .. code-block:: python
#
#    wrapped = DistributedDataParallel(nn.Linear(2, 1))
#    print(list(wrapped.state_dict()))
#
# .. solution::
#
#    Solution
#
#    The wrapper keeps the model in its attribute ``module``, so every key
#    starts with ``module.``, and a plain model finds none of its own keys.
#    Save ``wrapped.module.state_dict()`` instead.

if __name__ == "__main__":
    store = dist.HashStore()
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    wrapped = DistributedDataParallel(nn.Linear(2, 1))
    keys = list(wrapped.state_dict())
    print(keys)
    try:
        nn.Linear(2, 1).load_state_dict(wrapped.state_dict())
    except RuntimeError as err:
        print(f"RuntimeError: {str(err).splitlines()[1].strip()}")
    plain_keys = list(wrapped.module.state_dict())
    dist.destroy_process_group()
    assert keys == ["module.weight", "module.bias"]
    assert plain_keys == ["weight", "bias"]

# %%
# Exercise 2 ★★: resume a DDP run in one process
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A checkpoint of a DDP run is an ordinary checkpoint. Load ``epoch-0002.pt``
# from ``checkpoints`` into a plain ``nn.Linear(2, 1)`` and its SGD optimizer,
# in this process, train epochs 3 and 4 on the global batches, and check that
# you reach the parameters of the resumed DDP run.
#
# .. solution::
#
#    Solution
#
#    :func:`pttour.load_checkpoint` reads the file; ``replay`` takes the
#    steps. Epochs count from 0 in ``ddp_global_batches``: epochs 3 and 4 are
#    ``range(2, 4)``.

if __name__ == "__main__":
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    epoch_2 = pttour.checkpoint_path(checkpoints, 2)
    done = pttour.load_checkpoint(epoch_2, model, optimizer).epoch
    replay(model, optimizer, range(done, 4))
    same = agree(model, resumed[0]["model"])
    print(f"from epoch {done}, in one process: {same}")
    assert same

# %%
# Exercise 3 ★★: should every rank restore the saved random state?
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A checkpoint from :func:`pttour.save_checkpoint_ddp` holds rank 0's random
# state. Two ranks seed differently, so that their dropout masks differ; then
# both load the same checkpoint, ``path``, with :func:`pttour.load_checkpoint`
# and ``restore_rng=True``. Do their next random draws still differ? Play both
# ranks in this process, each drawing ``torch.randint(10, (6,))``.
#
# .. solution::
#
#    Solution
#
#    Restoring puts both ranks on the same stream, so they draw the same
#    numbers, and would use the same dropout masks: that is why
#    :func:`pttour.load_checkpoint_ddp` leaves the random state alone unless
#    told otherwise.

if __name__ == "__main__":
    model = nn.Linear(2, 1)
    draws = {}
    for restore in (False, True):
        for rank in range(2):
            torch.manual_seed(rank)  # each rank's own stream
            pttour.load_checkpoint(path, model, restore_rng=restore)
            draws[restore, rank] = torch.randint(10, (6,)).tolist()
        pair = f"{draws[restore, 0]} {draws[restore, 1]}"
        print(f"restore_rng={restore}: {pair}")
    assert draws[False, 0] != draws[False, 1]
    assert draws[True, 0] == draws[True, 1]
    workdir.cleanup()
