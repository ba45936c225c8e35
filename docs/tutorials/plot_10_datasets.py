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

**What you need:** PyTorch ≥ 2.6 and pttour. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
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
    # (input, target) pairs stored in two tensors of the same length.

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        if len(inputs) != len(targets):  # zip() would drop the extra samples
            raise ValueError(f"{len(inputs)} inputs, {len(targets)} targets")
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
# :class:`pttour.SequenceDataset` is the tested version of this class. It also
# takes Python lists of rows, converts each row to a tensor when it is built,
# and names the row it cannot convert.

import pttour

x, y = pttour.SequenceDataset([[0, 1], [2, 3]], targets=[-1, 1])[1]
print(f"SequenceDataset: item 1 = ({x.tolist()}, {y.item()})")

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
    print(f"inputs {tuple(batch_inputs.shape)}, ", end="")
    print(f"targets {tuple(batch_targets.shape)}")
print(f"len(loader) = {len(loader)}")
dropping = DataLoader(dataset, batch_size=4, drop_last=True)
print(f"with drop_last=True: {len(dropping)} batches")

# %%
# Ten samples in batches of four make three batches; the last one holds the two
# samples left over. An epoch has ``ceil(samples / batch_size)`` batches, and
# ``drop_last=True`` drops the incomplete one, which gives the floor instead.
# :func:`pttour.count_batches` is the tested version of this rule, in exact
# integer arithmetic:

print(f"count_batches: {pttour.count_batches(10, 4)}, ", end="")
print(f"with drop_last=True: {pttour.count_batches(10, 4, drop_last=True)}")

# %%
# What a batch holds: shape and dtype
# -----------------------------------
#
# The default ``collate_fn`` stacks tensor samples and keeps their dtype.
# Samples that are Python numbers become a tensor too: integers give ``int64``,
# as with ``torch.tensor``, but floats give ``float64``, where ``torch.tensor``
# gives ``float32`` (:ref:`sphx_glr_auto_tutorials_plot_03_tensors.py`). A list
# is a dataset too: it has a length and can be indexed.

for samples in ([0.5, 1.5], [1, 2], [torch.tensor(0.5), torch.tensor(1.5)]):
    batch = next(iter(DataLoader(samples, batch_size=2)))
    print(f"{type(samples[0]).__name__} samples -> {batch.dtype}")

# %%
# A model's parameters are ``float32``, and a matrix product does not mix
# dtypes: ``nn.Linear`` refuses a ``float64`` or an ``int64`` batch. Make the
# samples ``float32`` tensors in the dataset, or convert the batch with
# ``.float()``. (``unsqueeze(1)`` makes the batch of two numbers a batch of two
# samples with one feature each, of shape ``(2, 1)``.)

from torch import nn

model = nn.Linear(1, 1)
batch = next(iter(DataLoader([0.5, 1.5], batch_size=2))).unsqueeze(1)
try:
    model(batch)
except RuntimeError as err:
    print(f"RuntimeError: {err}")
print(f"converted: output dtype {model(batch.float()).dtype}")

# %%
# Moving batches to the device
# ----------------------------
#
# The loader produces batches in CPU memory. To compute on an accelerator, move
# the model once, and each batch inside the loop. With a CUDA device,
# ``pin_memory=True`` puts each batch in page-locked (pinned) memory, from
# which a copy with ``non_blocking=True`` runs asynchronously. Without one,
# pinning has no use and torch warns: ask for it only with a CUDA device.

if torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")
model = nn.Linear(2, 1).to(device)

loader = DataLoader(dataset, batch_size=4, pin_memory=device.type == "cuda")
for batch_inputs, batch_targets in loader:
    batch_inputs = batch_inputs.to(device, non_blocking=True)
    batch_targets = batch_targets.to(device, non_blocking=True)
    predictions = model(batch_inputs)
print(f"predictions {tuple(predictions.shape)} on {predictions.device.type}")

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
    # Wraps (input, target) pairs; flips each input with probability 1/2.

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
for read in range(3):
    x, y = augmented[3]
    print(f"read {read}: input {x.tolist()}, target {y.tolist()}")

# %%
# The same index gives a different variant from one read to the next.
# :class:`pttour.TransformedDataset` is the tested version of this wrapper for
# any transform: it applies the function you give it to each input, or to the
# whole item, as the item is read. torchvision's datasets do the same with
# their ``transform`` argument.


def flip_half_the_time(x: torch.Tensor) -> torch.Tensor:
    return x.flip(0) if torch.rand(()) < 0.5 else x


torch.manual_seed(0)
flipped = pttour.TransformedDataset(dataset, flip_half_the_time)
print("TransformedDataset:", [flipped[3][0].tolist() for _ in range(3)])

# %%
# Augmentation that mixes the samples of a batch, such as MixUp, cannot happen
# in the dataset, which sees one sample at a time. It goes in the
# ``collate_fn``, which receives the list of samples of a batch. This one is a
# simplified MixUp: it stacks the batch, then blends each sample with another
# one of the same batch, inputs and targets with the same weight.

from torch.utils.data import default_collate


def mixup(samples: list[tuple[torch.Tensor, torch.Tensor]]) -> list:
    # Stack the samples, then blend each with another sample of the batch.
    batch_inputs, batch_targets = default_collate(samples)
    weight = torch.rand(())  # one mixing weight for the whole batch
    partner = torch.randperm(len(batch_inputs))
    return [
        weight * batch_inputs + (1 - weight) * batch_inputs[partner],
        weight * batch_targets + (1 - weight) * batch_targets[partner],
    ]


mixed = DataLoader(dataset, batch_size=4, collate_fn=mixup)
mixed_inputs, mixed_targets = next(iter(mixed))
predicted = mixed_inputs @ torch.tensor([[2.0], [-1.0]])
print("blends fit y = 2 * x1 - x2:", torch.allclose(predicted, mixed_targets))

# %%
# The blended targets still fit because this problem is linear. For
# classification, MixUp blends one-hot labels into class probabilities, which
# ``nn.CrossEntropyLoss`` takes as targets as well as class indices
# (:ref:`sphx_glr_auto_tutorials_plot_14_classification.py` uses indices):

logits = torch.tensor([[2.0, 0.5, -1.0]])
loss_fn = nn.CrossEntropyLoss()
print(f"index target:       {loss_fn(logits, torch.tensor([0])).item():.4f}")
one_hot = torch.tensor([[1.0, 0.0, 0.0]])
print(f"probability target: {loss_fn(logits, one_hot).item():.4f}")

# %%
# Takeaways
# ---------
#
# * A map-style dataset is ``__len__`` plus ``__getitem__``; for tensors in
#   memory, ``TensorDataset`` is that dataset.
# * ``batch_size`` is the number of samples per batch: an epoch has
#   ``ceil(samples / batch_size)`` batches, the floor with ``drop_last=True``.
# * A batch of tensors keeps their dtype; Python floats become ``float64`` and
#   integers ``int64``. Give a ``float32`` model ``float32`` inputs.
# * Move the model once and each batch inside the loop; pin memory only for a
#   CUDA device.
# * ``DataLoader`` batches, shuffles and runs workers; it does not augment.
#   Per-sample augmentation goes in the dataset, augmentation that mixes
#   samples in a ``collate_fn``.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_11_shuffling_workers.py` shuffles
# the samples in an order that is the same on every run, and measures when
# worker processes make loading faster.
#
# What the article got wrong
# --------------------------
#
# This page follows §4.4 "DataLoader" of the article; the :doc:`/errata` page
# has the full entries.
#
# .. _erratum-e24:
#
# Erratum E24: No augmentation in DataLoader
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says that ``DataLoader`` offers options to crop, flip and rotate
# the data. Here are all of its parameters on the installed torch:

import inspect
import textwrap

print(textwrap.fill(", ".join(inspect.signature(DataLoader).parameters), 79))

# %%
# None of them transforms a sample. Per-sample augmentation belongs in the
# dataset, as in ``RandomFlip``, and augmentation that mixes samples in a
# ``collate_fn`` (:ref:`E24 on the errata page <e24>`).
#
# .. _erratum-e25:
#
# Erratum E25: One batch, not two
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says that its loader splits a dataset of two samples, with a
# batch size of two, into two batches. Here is such a loader (a tensor is
# itself a dataset: it has a length and can be indexed):

two_samples = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
batches = list(DataLoader(two_samples, batch_size=2, shuffle=True))
print(f"batches: {len(batches)}, of shape {tuple(batches[0].shape)}")

# %%
# ``batch_size`` is the number of samples in a batch, not the number of
# batches; for two batches, use ``batch_size=1`` (:ref:`E25 on the errata page
# <e25>`).
#
# .. _erratum-e26:
#
# Erratum E26: Integer batches for a float model
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article builds its samples with ``torch.tensor`` from Python integers,
# and says that the batches go into a model:

samples = torch.tensor([[1, 2], [3, 4]])
integer_batch = next(iter(DataLoader(samples, batch_size=2)))
try:
    nn.Linear(2, 1)(integer_batch)
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# The samples are ``int64``, and so is the batch. Create them as floats,
# ``torch.tensor(row, dtype=torch.float32)``, or convert the batch with
# ``.float()`` (:ref:`E26 on the errata page <e26>`).
#
# Exercises
# ---------
#
# Exercise 1 ★: predict the batch sizes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then add ``drop_last=True`` and
# predict again.
#
# .. code-block:: python
#
#    print([len(batch) for batch in DataLoader(range(10), batch_size=3)])
#
# .. solution::
#
#    Solution
#
#    Three full batches and one with the sample left over; ``drop_last=True``
#    drops that one. :func:`pttour.count_batches` agrees with both.

sizes = [len(batch) for batch in DataLoader(range(10), batch_size=3)]
dropped = DataLoader(range(10), batch_size=3, drop_last=True)
print(sizes, [len(batch) for batch in dropped])
assert sizes == [3, 3, 3, 1]
assert len(sizes) == pttour.count_batches(10, 3)
assert len(dropped) == pttour.count_batches(10, 3, drop_last=True) == 3

# %%
# Exercise 2 ★★: samples that are lists
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article's data is a list of two rows. Predict what a batch of this loader
# is; then change the dataset so that the batch is one ``float32`` tensor of
# shape ``(2, 2)``.
#
# .. code-block:: python
#
#    rows = [[1, 2], [3, 4]]
#    print(next(iter(DataLoader(rows, batch_size=2))))
#
# .. solution::
#
#    Solution
#
#    The default ``collate_fn`` treats a list sample as a sequence of fields,
#    as it treats ``(input, target)`` pairs: the batch is a list of two
#    ``int64`` columns. Tensor samples are stacked instead.

rows = [[1, 2], [3, 4]]
columns = next(iter(DataLoader(rows, batch_size=2)))
print(columns)
table = torch.tensor(rows, dtype=torch.float32)
stacked = next(iter(DataLoader(table, batch_size=2)))
print(stacked)
assert [c.tolist() for c in columns] == [[1, 3], [2, 4]]
assert stacked.shape == (2, 2)
assert stacked.dtype == torch.float32
