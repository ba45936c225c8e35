"""
Indexing, reshaping and broadcasting
====================================

Most bugs in a beginner's PyTorch code are shape bugs: a dimension dropped by
an index, a reshape that mixes up the elements, or two tensors of different
shapes that combine without an error. After reading this page you will be able
to:

* select elements, rows, columns and masks of a tensor, and know when the
  result shares memory with the original;
* change a tensor's shape with ``view`` and ``reshape``, and know what
  "contiguous" means;
* predict the shape of a broadcast result, and catch a broadcast you did not
  want.

**What you need:** PyTorch ≥ 2.6 and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Indexing and slicing
# --------------------
#
# Tensors are indexed like NumPy arrays: one index or slice per dimension,
# counted from 0, with negative indices counting from the end.

import torch

torch.manual_seed(0)
x = torch.arange(12).reshape(3, 4)
print(x)
print(f"x[1, 2]   = {x[1, 2]!r}   (a zero-dimensional tensor)")
print(f"x[1, 2].item() = {x[1, 2].item()}   (a Python number)")
print(f"x[0]      = {x[0]}   (the first row)")
print(f"x[-1]     = {x[-1]}   (the last row)")
print(f"x[:, 1]   = {x[:, 1]}   (the second column)")
print(f"x[:, ::2] = {x[:, ::2].tolist()}   (every other column)")

# %%
# An integer index removes its dimension; a slice keeps it, even when it
# selects a single element. The difference is invisible in the values and
# decisive for the shape:

print(f"x[:, 1].shape   = {x[:, 1].shape}")
print(f"x[:, 1:2].shape = {x[:, 1:2].shape}")
print(f"x[:, [1]].shape = {x[:, [1]].shape}")

# %%
# Indexing with integers and slices returns a *view*: a new tensor object that
# shares the original's memory, so writing into it writes into ``x``. Indexing
# with a list, a tensor of indices or a boolean mask returns a *copy*.
# Assigning through any index writes into ``x``.

row = x[1]  # a view of the second row
row[0] = -4  # writes into x
picked = x[x > 8]  # a boolean mask: a copy of the selected elements
picked[:] = 0  # does not touch x
x[x > 9] = 0  # assignment through a mask writes into x
print(x)
print(f"picked = {picked}")

# %%
# Shapes: ``view``, ``reshape`` and contiguity
# --------------------------------------------
#
# A tensor's elements sit in one block of memory. Its shape and its *strides*
# (how many elements to skip to move one step along each dimension) say how to
# read that block. ``view`` gives the same block another shape without copying;
# ``-1`` lets PyTorch compute one size from the others.

x = torch.arange(12).reshape(3, 4)
v = x.view(2, -1)
print(f"x.view(2, -1) has shape {tuple(v.shape)}")
print(f"strides: x {x.stride()}, v {v.stride()}")
v[0, 0] = 100
print(f"x[0, 0] after writing v[0, 0]: {x[0, 0].item()}")

# %%
# Some operations change only the strides. The transpose ``x.T`` reads the same
# block column by column, so its elements are no longer in memory order: it is
# not *contiguous*. ``view`` cannot reshape it, and the error says what to use
# instead:

import textwrap

t = x.T
print(f"x.T strides {t.stride()}, contiguous: {t.is_contiguous()}")
try:
    t.view(12)
except RuntimeError as err:
    print(textwrap.fill(f"RuntimeError: {err}", 79))

# %%
# ``reshape`` returns a view when the strides allow it and a copy otherwise; do
# not rely on which. ``contiguous()`` copies the elements into memory order
# (and returns the tensor itself when it already is). A few other shape
# functions are used all the time: ``unsqueeze`` adds a dimension of size 1,
# ``squeeze`` removes one, and ``flatten`` joins dimensions.

print(f"x.T.reshape(12):              {t.reshape(12).tolist()}")
print(f"x.T.contiguous().is_contiguous(): {t.contiguous().is_contiguous()}")
column = torch.tensor([1.0, 2.0, 3.0])
print(f"(3,) unsqueeze(1)    -> {tuple(column.unsqueeze(1).shape)}")
print(f"(3, 1) squeeze(1)    -> {tuple(column.unsqueeze(1).squeeze(1).shape)}")
block = torch.zeros(2, 3, 4)
print(f"(2, 3, 4) flatten(1) -> {tuple(block.flatten(1).shape)}")

# %%
# Broadcasting
# ------------
#
# An element-wise operation on two tensors of different shapes does not always
# fail. PyTorch first *broadcasts* them to a common shape, following NumPy's
# rules:
#
# 1. Line the two shapes up from the right, padding the shorter one with sizes
#    of 1 on the left.
# 2. In each dimension, the sizes must be equal, or one of them must be 1.
# 3. A size of 1 is stretched to the other size, without copying the data.
#
# ``torch.broadcast_shapes`` applies the rules without computing anything:

print(torch.broadcast_shapes((3, 1), (1, 4)))
print(torch.broadcast_shapes((2, 3), (3,)))
try:
    torch.zeros(2, 3) + torch.zeros(2)  # sizes 3 and 2 at the last dimension
except RuntimeError as err:
    print(textwrap.fill(f"RuntimeError: {err}", 79))

# %%
# A column of shape ``(3, 1)`` plus a row of shape ``(1, 4)`` gives a ``(3,
# 4)`` table: each element is the sum of its row's and its column's value.

import matplotlib.pyplot as plt

col = torch.tensor([[0], [10], [20]])
row = torch.tensor([[1, 2, 3, 4]])
panels = {"(3, 1)": col, "(1, 4)": row, "(3, 4)": col + row}
fig, axes = plt.subplots(1, 3, figsize=(6, 2.4), width_ratios=[1, 4, 4])
for ax, (title, values) in zip(axes, panels.items(), strict=True):
    ax.imshow(values, cmap="Blues", vmin=-10, vmax=40)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, str(values[i, j].item()), ha="center", va="center")
    ax.set_xlabel(title)
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()

# %%
# .. figure-caption::
#
#    Left, a column of shape (3, 1); middle, a row of shape (1, 4); right,
#    their sum, of shape (3, 4). Each number of the sum adds the value of its
#    row in the column to the value of its column in the row.
#
# A silent broadcast: the target-shape bug
# ----------------------------------------
#
# Broadcasting is convenient on purpose and dangerous by accident. A model with
# one output returns shape ``(N, 1)``: one column. A target built as a flat
# vector has shape ``(N,)``, and their difference is an ``(N, N)`` table that
# compares every prediction with every target:

output = torch.zeros(4, 1)  # a model's predictions, one per sample
target = torch.arange(4.0)  # one target per sample, but shape (4,)
diff = output - target
print(f"{tuple(output.shape)} - {tuple(target.shape)} -> {tuple(diff.shape)}")
print(f"hand-written MSE: {(diff**2).mean().item():.3f}, without any warning")

# %%
# PyTorch's loss functions do no better. ``nn.MSELoss``, the mean squared
# error that :ref:`sphx_glr_auto_tutorials_plot_05_autograd_training.py`
# introduces, broadcasts a target with two columns against an output with one,
# with only a warning, then returns a plausible but wrong number:

import warnings

from torch import nn

inputs = torch.rand(4, 2)
wrong_target = inputs * 3 + 4  # shape (4, 2): one column per input
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    loss = nn.MSELoss()(output, wrong_target)
message = str(caught[0].message).split(". ")[0]
print(f"loss {loss.item():.3f}")
print(textwrap.fill(f"UserWarning: {message}.", 79))

# %%
# ``nn.MSELoss`` and ``nn.L1Loss`` only warn, ``nn.BCELoss`` refuses, and a
# hand-written loss says nothing at all. The fix is to give the target the
# output's shape, and to check the shapes before computing a loss (the
# training page shows a tested version of this check):

right_target = inputs @ torch.tensor([[3.0], [2.0]]) + 4  # shape (4, 1)
for candidate in (right_target, target.unsqueeze(1), target):
    same = candidate.shape == output.shape
    print(f"target {tuple(candidate.shape)}: {'ok' if same else 'differs'}")

# %%
# Takeaways
# ---------
#
# * An integer index removes a dimension, a slice keeps it: ``x[:, 1]`` has one
#   dimension fewer than ``x[:, 1:2]``.
# * Indexing with integers and slices returns a view that shares memory; a
#   list, an index tensor or a mask returns a copy.
# * ``view`` never copies and needs compatible strides; ``reshape`` copies when
#   it must.
# * Broadcasting lines shapes up from the right and stretches sizes of 1;
#   predict it with ``torch.broadcast_shapes``.
# * Before a loss, check ``output.shape == target.shape``: an ``(N, 1)`` output
#   against an ``(N,)`` target broadcasts to ``(N, N)`` without an error.

# %%
# Exercises
# ---------
#
# Exercise 1 ★: make a broadcast fail
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints. Then change the shape of ``b``
# so that the broadcast fails, and read the error: which dimension does it
# name?
#
# .. code-block:: python
#
#    a = torch.zeros(3, 1)
#    b = torch.ones(4)
#    print((a + b).shape)
#
# .. solution::
#
#    Solution
#
#    Lined up from the right, ``(3, 1)`` and ``(4,)`` become ``(3, 1)`` and
#    ``(1, 4)``: the result is ``(3, 4)``. With ``b`` of shape ``(2, 4)``, the
#    first dimension has sizes 3 and 2, neither of them 1, and the error names
#    dimension 0.

a = torch.zeros(3, 1)
b = torch.ones(4)
print((a + b).shape)
assert (a + b).shape == (3, 4)
message = "no error"
try:
    a + torch.ones(2, 4)
except RuntimeError as err:
    message = f"RuntimeError: {err}"
print(textwrap.fill(message, 79))
assert "non-singleton dimension 0" in message

# %%
# Exercise 2 ★: a view or a copy?
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints: which of the two writes
# reaches ``x``?
#
# .. code-block:: python
#
#    x = torch.arange(6)
#    a = x[2:4]
#    b = x[[2, 3]]
#    a[0] = -1
#    b[1] = -2
#    print(x)
#
# .. solution::
#
#    Solution
#
#    The slice ``a`` is a view and shares ``x``'s memory; the list index makes
#    ``b`` a copy. Only the write through ``a`` reaches ``x``.

x = torch.arange(6)
a = x[2:4]
b = x[[2, 3]]
a[0] = -1
b[1] = -2
print(x)
assert x.tolist() == [0, 1, -1, 3, 4, 5]

# %%
# Exercise 3 ★★: centre the rows of a matrix
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# This code should subtract from each row of a square matrix the mean of that
# row. It runs without an error, yet the rows of ``centred`` do not have mean
# 0. Find why, fix it, and check every row's mean.
#
# .. code-block:: python
#
#    m = torch.arange(16.0).reshape(4, 4)
#    centred = m - m.mean(dim=1)
#
# .. solution::
#
#    Solution
#
#    ``m.mean(dim=1)`` has shape ``(4,)``, which broadcasts as a *row*: element
#    ``j`` of every row loses the mean of row ``j``. ``keepdim=True`` keeps the
#    shape ``(4, 1)``, a column, so each row loses its own mean.

m = torch.arange(16.0).reshape(4, 4)
wrong = m - m.mean(dim=1)
centred = m - m.mean(dim=1, keepdim=True)
print("row means, wrong:", wrong.mean(dim=1).tolist())
print("row means, fixed:", centred.mean(dim=1).tolist())
assert not torch.allclose(wrong.mean(dim=1), torch.zeros(4))
assert torch.allclose(centred.mean(dim=1), torch.zeros(4))
