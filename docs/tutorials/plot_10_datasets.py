"""
Loading data: datasets and DataLoader
=====================================

Training reads its data in batches. ``torch.utils.data`` splits this work in
two: a *dataset* produces one sample at a time, and a ``DataLoader`` asks the
dataset for samples and stacks them into batches. After reading this page you
will be able to:

* write a map-style dataset, or use ``TensorDataset`` for tensors already in
  memory;
* predict how many batches an epoch has, and their shape and dtype;
* move each batch to the device the model is on;
* put random augmentation in the dataset, and augmentation that mixes samples
  in a ``collate_fn``.

**What you need:** PyTorch ≥ 2.6. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install it.
"""

# %%
# A map-style dataset
# -------------------
#
# A map-style dataset answers two questions: how many samples there are
# (``__len__``) and which sample sits at a given index (``__getitem__``). A
# ``DataLoader`` needs nothing else. The dataset below holds a small regression
# problem in memory: two input features per sample and one target, ``y = 2 * x1
# - x2``.

import torch
from torch.utils.data import Dataset


class PairsDataset(Dataset):
    """(input, target) pairs stored in two tensors of the same length."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        if len(inputs) != len(
            targets
        ):  # zip() would silently drop the extra samples
            raise ValueError(
                f"{len(inputs)} inputs but {len(targets)} targets"
            )
        self.inputs, self.targets = inputs, targets

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inputs[index], self.targets[index]


inputs = torch.arange(20, dtype=torch.float32).reshape(10, 2)
targets = inputs @ torch.tensor([[2.0], [-1.0]])
pairs = PairsDataset(inputs, targets)
x, y = pairs[3]
print(f"{len(pairs)} samples; pairs[3] = ({x.tolist()}, {y.tolist()})")

# %%
# A dataset of images or audio files works the same way: ``__init__`` keeps the
# list of files, and ``__getitem__`` reads and decodes one of them, so only the
# samples in use are in memory. For tensors that are already in memory, torch
# ships this dataset as ``TensorDataset``: it indexes every tensor you give it
# at the same position, and checks that their first dimensions agree.

from torch.utils.data import TensorDataset

dataset = TensorDataset(inputs, targets)
x, y = dataset[3]
print(f"TensorDataset: dataset[3] = ({x.tolist()}, {y.tolist()})")

# %%
# Batches, and how many of them
# -----------------------------
#
# ``DataLoader`` reads ``batch_size`` samples and stacks them along a new first
# dimension. For ``(input, target)`` pairs, the default ``collate_fn`` stacks
# the inputs and the targets separately, so the loop unpacks each batch.

from torch.utils.data import DataLoader

loader = DataLoader(dataset, batch_size=4)
for batch_inputs, batch_targets in loader:
    print(
        f"inputs {tuple(batch_inputs.shape)}, targets {tuple(batch_targets.shape)}"
    )
print(f"len(loader) = {len(loader)}")
print(
    f"with drop_last=True: {len(DataLoader(dataset, batch_size=4, drop_last=True))} batches"
)

# %%
# Ten samples in batches of four make three batches; the last one holds the two
# samples left over. An epoch has ``ceil(samples / batch_size)`` batches, and
# ``drop_last=True`` drops the incomplete one, which gives the floor instead.
#
# .. _erratum-e25:
#
# Erratum E25: One batch, not two
# -------------------------------
#
# The article says that its loader splits a dataset of two samples, with a
# batch size of two, into two batches. Here is such a loader (a tensor is
# itself a dataset: it has a length and can be indexed):

two_samples = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
two_sample_loader = DataLoader(two_samples, batch_size=2, shuffle=True)
batches = list(two_sample_loader)
print(f"len(loader) = {len(two_sample_loader)}, batches seen: {len(batches)}")
print(f"the batch has shape {tuple(batches[0].shape)}")

# %%
# ``batch_size`` is the number of samples in a batch, not the number of
# batches. Two samples fill one batch of two, so the loop runs once, with a
# tensor of shape (2, 2). For two batches, use ``batch_size=1`` (:ref:`E25 on
# the errata page <e25>`):

print(f"batch_size=1: {len(DataLoader(two_samples, batch_size=1))} batches")

# %%
# .. _erratum-e26:
#
# Erratum E26: Integer batches for a float model
# ----------------------------------------------
#
# The batches have the dtype of the samples. The article builds its samples
# with ``torch.tensor`` from Python integers, and says that the batches go into
# a model:

from torch import nn

model = nn.Linear(2, 1)
integer_batch = next(
    iter(DataLoader(torch.tensor([[1, 2], [3, 4]]), batch_size=2))
)
print(f"batch dtype: {integer_batch.dtype}")
try:
    model(integer_batch)
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# ``torch.tensor`` infers ``int64`` from Python integers, and the loader keeps
# that dtype. ``nn.Linear`` multiplies the batch by its ``float32`` weight, and
# a matrix product does not mix dtypes. Create the samples as floats, or
# convert the batch (:ref:`E26 on the errata page <e26>`):

float_samples = torch.tensor([[1, 2], [3, 4]], dtype=torch.float32)
float_batch = next(iter(DataLoader(float_samples, batch_size=2)))
print(f"float samples: output {tuple(model(float_batch).shape)}")
print(f"converted batch: output {tuple(model(integer_batch.float()).shape)}")

# %%
# Moving batches to the device
# ----------------------------
#
# The loader produces batches in CPU memory. To compute on an accelerator, move
# the model once, and each batch inside the loop. With a CUDA device,
# ``pin_memory=True`` makes the loader put each batch in page-locked (pinned)
# memory, from which a copy with ``non_blocking=True`` runs asynchronously.
# Without an accelerator pinning has no use, and torch warns, so ask for it
# only when there is a CUDA device.

if torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")
model = model.to(device)

loader = DataLoader(dataset, batch_size=4, pin_memory=device.type == "cuda")
for batch_inputs, batch_targets in loader:
    batch_inputs = batch_inputs.to(device, non_blocking=True)
    batch_targets = batch_targets.to(device, non_blocking=True)
    predictions = model(batch_inputs)
print(
    f"device: {device}; predictions {tuple(predictions.shape)} on {predictions.device}"
)

# %%
# Random augmentation belongs in the dataset
# ------------------------------------------
#
# Random augmentation (cropping, flipping, adding noise) changes a sample each
# time it is read, so that every epoch sees new variants of the data. Do it
# where a sample is produced: in ``__getitem__``, or in a dataset that wraps
# another one, like the one below. It reverses the two features with
# probability one half, a one-dimensional "horizontal flip", and leaves the
# target alone.


class RandomFlip(Dataset):
    """Wraps a dataset of (input, target) pairs and flips each input with probability 1/2."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.base[index]
        if torch.rand(()) < 0.5:
            x = x.flip(0)
        return x, y


torch.manual_seed(0)
augmented = RandomFlip(dataset)
for read in range(4):
    x, y = augmented[3]
    print(f"read {read}: input {x.tolist()}, target {y.tolist()}")

# %%
# The same index gives a different variant from one read to the next. Image
# libraries work the same way: torchvision's datasets take a ``transform``
# argument, such as ``transforms.v2.RandomHorizontalFlip()``, and apply it in
# their ``__getitem__``.
#
# .. _erratum-e24:
#
# Erratum E24: No augmentation in DataLoader
# ------------------------------------------
#
# The article says that ``DataLoader`` offers options to crop, flip and rotate
# the data. Here are all of its parameters on the installed torch:

import inspect

print(", ".join(inspect.signature(DataLoader).parameters))

# %%
# None of them transforms a sample: they are about batching, order, worker
# processes and memory. The loader asks the dataset for samples and collates
# them, so per-sample augmentation belongs in the dataset, as in ``RandomFlip``
# above.
#
# One parameter can still take part: ``collate_fn`` receives the list of
# samples of a batch. Augmentations that mix the samples of a batch, such as
# MixUp and CutMix, go there or after the loader (:ref:`E24 on the errata page
# <e24>`). The ``collate_fn`` below is a simplified MixUp: it stacks the batch,
# then blends each sample with another one of the same batch, inputs and
# targets with the same weight.

from torch.utils.data import default_collate


def mixup(
    samples: list[tuple[torch.Tensor, torch.Tensor]],
) -> list[torch.Tensor]:
    """Stack the samples, then blend each one with another sample of the batch."""
    batch_inputs, batch_targets = default_collate(samples)
    weight = torch.rand(())  # one mixing weight for the whole batch
    partner = torch.randperm(len(batch_inputs))
    mixed_inputs = weight * batch_inputs + (1 - weight) * batch_inputs[partner]
    mixed_targets = (
        weight * batch_targets + (1 - weight) * batch_targets[partner]
    )
    return [mixed_inputs, mixed_targets]


mixed_inputs, mixed_targets = next(
    iter(DataLoader(dataset, batch_size=4, collate_fn=mixup))
)
print(
    f"mixed batch: inputs {tuple(mixed_inputs.shape)}, targets {tuple(mixed_targets.shape)}"
)
still_fits = torch.allclose(
    mixed_inputs @ torch.tensor([[2.0], [-1.0]]), mixed_targets
)
print(f"mixed targets still follow y = 2 * x1 - x2: {still_fits}")

# %%
# The targets still fit because this problem is linear; for classification,
# MixUp blends the one-hot labels in the same way.
#
# Takeaways
# ---------
#
# * A map-style dataset is ``__len__`` plus ``__getitem__``; for tensors in
#   memory, ``TensorDataset`` is that dataset.
# * ``batch_size`` is the number of samples per batch: an epoch has
#   ``ceil(samples / batch_size)`` batches, the floor with ``drop_last=True``.
# * A batch keeps the dtype of its samples: give a float model ``float32``
#   inputs.
# * Move the model once and each batch inside the loop; pin memory only for a
#   CUDA device.
# * ``DataLoader`` batches, shuffles and runs workers; it does not augment.
#   Per-sample augmentation goes in the dataset, augmentation that mixes
#   samples in a ``collate_fn``.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_11_shuffling_workers.py` shuffles
# the samples in an order that is the same on every run, and measures when
# worker processes make loading faster.
