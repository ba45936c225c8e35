"""
Tensors: creation, dtype and device
===================================

A tensor is an n-dimensional array of numbers of one type, stored on one
device. Three properties describe it: its shape, its data type (dtype) and its
device. This page creates tensors, reads those properties, and practises the
operations every later page uses. After reading this page you will be able
to:

* tell apart a tensor's shape, its number of dimensions and its number of
  elements;
* create a tensor with ``torch.tensor`` or a factory function, with an
  explicit dtype and device;
* multiply element by element or as matrices, reduce along a dimension, join
  tensors, and read a single number out;
* predict the dtype of a result when tensors of different dtypes meet.

**What you need:** PyTorch ≥ 2.6 and pttour. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Shape, number of dimensions, number of elements
# -----------------------------------------------
#
# Three different numbers describe the size of a tensor:
#
# * ``shape`` is the size along each dimension, a ``torch.Size`` (a tuple);
# * ``ndim`` is the number of dimensions, ``len(shape)``;
# * ``numel()`` is the number of elements, the product of the sizes.

import torch

batch = torch.zeros(2, 3, 4)  # e.g. 2 samples, 3 channels, 4 time steps
print(f"shape {batch.shape}, ndim {batch.ndim}, numel() {batch.numel()}")
print(f"len() {len(batch)}: only the size of the first dimension")

# %%
# A scalar tensor, such as a loss, has the empty shape ``()`` and one
# element.
#
# Creating a tensor
# -----------------
#
# ``torch.tensor(data)`` copies nested Python lists (or a NumPy array) into a
# new tensor. Without ``dtype``, it infers the type from the data: Python
# integers give ``int64``, floats the default float type ``float32``,
# booleans ``bool``.

for data in ([1, 2], [1.0, 2.0], [1, 2.5], [True, False]):
    print(f"{data!s:<14} -> {torch.tensor(data).dtype}")

# %%
# Pass ``dtype`` and ``device`` at creation, by keyword. Factory functions
# build a tensor from its shape: ``torch.zeros``, ``torch.ones``,
# ``torch.arange`` (a range of numbers) and ``torch.randn`` (random normal
# values). Random values differ on every run unless you seed the generator
# first, as this page does wherever it prints them.

device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)
pixels = torch.tensor([[0, 128], [255, 64]], dtype=torch.uint8, device=device)
print(pixels.dtype, pixels.device)
print(torch.arange(5), torch.ones(2, dtype=torch.int32))
torch.manual_seed(0)
print(torch.randn(2, 3))

# %%
# ``torch.tensor`` builds its data in CPU memory, then copies it to
# ``device``; a factory function called with ``device=`` creates its tensor
# there directly. :func:`pttour.make_tensor` is the tested version of
# ``torch.tensor``: it raises a clear error for a ``dtype`` that is not a
# ``torch.dtype``, for data that is already a tensor, and for
# ``requires_grad=True`` on integers.

import pttour

print(pttour.make_tensor([[1, 2]], dtype=torch.int32, device=device))

# %%
# Reading a tensor
# ----------------
#
# ``print`` shows the values; it adds the dtype only when the dtype is not
# the default one for the values (``float32``, ``int64``), and the device
# only when it is not the CPU. Ask the attributes for the rest:

x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
print(x)
print(torch.tensor([1, 2], dtype=torch.int32))
print(x.shape, x.dtype, x.device)

# %%
# :func:`pttour.describe` is the tested version of that last line: it
# gathers shape, ``ndim``, ``numel``, dtype, device and ``requires_grad`` in
# one value.

info = pttour.describe(x)
print(info.shape, info.ndim, info.numel, info.dtype, info.device)

# %%
# Operations later pages use
# --------------------------
#
# ``*`` multiplies element by element; ``@`` is the matrix product, each row
# of the left operand against each column of the right one.

a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
b = torch.tensor([[10.0, 0.0], [0.0, 1.0]])
print(a * b)
print(a @ b)

# %%
# A reduction such as ``sum`` or ``mean`` combines elements. Without ``dim``
# it reduces everything to one number; with ``dim`` it reduces along that
# dimension only, which disappears from the shape unless ``keepdim=True``
# keeps it with size 1. Here each row holds one sample's scores for three
# classes:

scores = torch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 0.0]])
print(scores.sum(), scores.mean())
print(scores.sum(dim=1), scores.mean(dim=0))
print(scores.sum(dim=1).shape, scores.sum(dim=1, keepdim=True).shape)

# %%
# Keeping the dimension lets the result line up with the input again:
# ``scores / scores.sum(dim=1, keepdim=True)`` divides each row by its own
# sum (:ref:`Indexing and broadcasting
# <sphx_glr_auto_tutorials_plot_04_indexing_broadcasting.py>` explains how
# shapes line up).
#
# ``torch.cat`` joins tensors along an existing dimension; ``torch.stack``
# puts them along a new one, so they must have the same shape:

first, second = torch.zeros(2, 3), torch.ones(2, 3)
print(torch.cat([first, second]).shape, torch.cat([first, second], 1).shape)
print(torch.stack([first, second]).shape)

# %%
# ``argmax(dim=1)`` gives, for each row, the index of its largest value: the
# class a classifier predicts. ``.item()`` turns a one-element tensor into a
# Python number, for printing or for an ``if``:

labels = torch.tensor([1, 2])
predicted = scores.argmax(dim=1)
correct = (predicted == labels).sum()
print(predicted, correct, correct.item())

# %%
# Mixing dtypes
# -------------
#
# An operation on operands of different dtypes computes in a common type:
# integers meeting a float give a float, and true division ``/`` always gives
# a float. ``torch.result_type`` tells the answer without computing anything.
# An in-place operation keeps its target's dtype, so it cannot turn integers
# into floats:

counts = torch.tensor([1, 2, 3])
print((counts + 0.5).dtype, (counts / 2).dtype, (counts * 2).dtype)
print(torch.result_type(counts, 2.5))
try:
    counts += 0.5
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# Takeaways
# ---------
#
# * ``shape`` is the size per dimension, ``ndim`` the number of dimensions,
#   ``numel()`` the number of elements.
# * Create tensors with ``torch.tensor`` or a factory function, passing
#   ``dtype`` and ``device`` by keyword; seed before printing random values.
# * ``print(x)`` shows the values; read ``x.shape``, ``x.dtype`` and
#   ``x.device`` for the rest.
# * ``*`` is element-wise, ``@`` the matrix product; ``sum``, ``mean`` and
#   ``argmax`` reduce along ``dim``; ``cat`` joins along an existing
#   dimension, ``stack`` along a new one.
# * Mixed dtypes are promoted to a common type; in-place operations never
#   widen their target.
#
# What the article got wrong
# --------------------------
#
# This page follows §4.1 "Tensors" of the article; the :doc:`errata page
# </errata>` lists all its mistakes.
#
# .. _erratum-e06:
#
# Erratum E06: Legacy torch.Tensor constructor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article creates its tensors with the class constructor
# ``torch.Tensor(data)``, a legacy spelling that behaves differently:

print(torch.Tensor([[1, 2], [3, 4]]).dtype)  # the integers became floats
print(torch.Tensor(3).shape)  # three uninitialised elements, not the value 3

# %%
# The fix is the factory ``torch.tensor``, which keeps the values and infers
# the dtype: ``torch.tensor(3)`` is the number 3. :ref:`All errata <e06>`
#
# .. _erratum-e07:
#
# Erratum E07: dtype= passed to torch.Tensor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article passes ``dtype=torch.int32`` to ``torch.Tensor``:


def show(err):  # the message's first line, cut to fit the page
    head, _, got = str(err).split(", but")[0].partition(" - ")
    print(f"{type(err).__name__}: {head}")
    if got:
        print(f"    {got}")


try:
    torch.Tensor([[1, 2]], dtype=torch.int32)
except TypeError as err:
    show(err)

# %%
# The legacy constructor accepts ``device=`` as its only keyword. The fix:
# ``torch.tensor([[1, 2]], dtype=torch.int32)``. :ref:`All errata <e07>`
#
# .. _erratum-e08:
#
# Erratum E08: Shape is not the element count
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article defines the shape as the number of elements. Tensors of 24
# elements show the difference:

for shape in ((24,), (2, 12), (2, 3, 4)):
    example = torch.zeros(shape)
    print(f"shape {example.shape}: numel {example.numel()}")

# %%
# The fix: ``shape`` is the size along each dimension, ``numel()`` the count
# of elements. :ref:`All errata <e08>`
#
# .. _erratum-e09:
#
# Erratum E09: GPU is always faster
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says that a tensor on the GPU is computed faster. It depends on
# the size of the work: on an NVIDIA H100, a 2 x 2 float32 matrix product
# took 5.98 µs on the CPU and 24.8 µs on the GPU (74.4 µs with the copies),
# while at 4096 x 4096 the GPU was 40 times faster. The :ref:`figure on
# What PyTorch is <cpu-vs-gpu-timing>` shows every size measured. The fix:
# send large, batched work to the GPU and keep the data there; measure
# before you decide. :ref:`All errata <e09>`
#
# .. _erratum-e38:
#
# Erratum E38: print() shows a device's str, not its repr
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article's comment says ``print(x.device)`` shows
# ``device(type='cpu')``:

print(x.device)
print(repr(x.device))

# %%
# ``print`` uses ``str()``, which gives ``cpu``; ``device(type='cpu')`` is
# the ``repr()``, which a notebook or the interactive prompt shows for
# ``x.device`` alone. The fix is a correct comment. :ref:`All errata <e38>`
#
# .. _erratum-e39:
#
# Erratum E39: Printing a tensor shows neither its shape nor a default dtype
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says that printing a tensor shows its content and its shape,
# and the type ``torch.float32``. It shows the values only:

print(x)

# %%
# It names the dtype only when it is not the default, and never shows the
# shape of a tensor with elements. The fix: read the shape from ``x.shape``
# and the dtype from ``x.dtype``. :ref:`All errata <e39>`
#
# .. _erratum-e40:
#
# Erratum E40: dtype is not a positional parameter
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says the constructor's second parameter sets the data type.
# Neither ``torch.Tensor`` nor ``torch.tensor`` accepts it there:

for create in (torch.Tensor, torch.tensor):
    try:
        create([[1, 2]], torch.int32)
    except TypeError as err:
        show(err)

# %%
# ``torch.tensor`` takes ``dtype`` by keyword only. The fix:
# ``torch.tensor(data, dtype=torch.int32)``. :ref:`All errata <e40>`
#
# Exercises
# ---------
#
# Exercise 1 ★: predict a reduction's shape
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then change ``dim=0`` to
# ``dim=1`` and add ``keepdim=True``.
#
# .. code-block:: python
#
#    x = torch.ones(2, 3)
#    print(x.sum(dim=0))
#
# .. solution::
#
#    Solution
#
#    ``dim=0`` adds the two rows: three sums of 2. ``dim=1`` adds along each
#    row: two sums of 3, kept as a column with ``keepdim=True``.

x = torch.ones(2, 3)
print(x.sum(dim=0))
print(x.sum(dim=1, keepdim=True))
assert x.sum(dim=0).tolist() == [2.0, 2.0, 2.0]
assert x.sum(dim=1, keepdim=True).shape == (2, 1)

# %%
# Exercise 2 ★: element-wise or matrix product?
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Predict both results for ``m = torch.tensor([[1, 2], [3, 4]])``:
# ``m * m`` and ``m @ m``. Then predict the shape of ``torch.ones(2, 3) @
# torch.ones(3, 4)`` and what ``torch.ones(2, 3) * torch.ones(3, 4)`` does.
#
# .. solution::
#
#    Solution
#
#    ``*`` squares each element; ``@`` combines rows with columns. Shapes
#    ``(2, 3)`` and ``(3, 4)`` make a ``(2, 4)`` product, but cannot be
#    multiplied element by element.

m = torch.tensor([[1, 2], [3, 4]])
print(m * m)
print(m @ m)
assert (m * m).tolist() == [[1, 4], [9, 16]]
assert (m @ m).tolist() == [[7, 10], [15, 22]]
assert (torch.ones(2, 3) @ torch.ones(3, 4)).shape == (2, 4)
try:
    torch.ones(2, 3) * torch.ones(3, 4)
except RuntimeError as err:
    print(f"RuntimeError: {str(err).split(' at ')[0]}")
    failed = True
assert failed

# %%
# Exercise 3 ★★: an accuracy from scores
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# With ``torch.manual_seed(0)``, draw ``scores = torch.randn(8, 3)`` (eight
# samples, three classes) and ``labels = torch.randint(0, 3, (8,))``. Print
# the fraction of samples whose highest score is at their label, as a Python
# float.
#
# .. solution::
#
#    Solution
#
#    ``argmax(dim=1)`` gives one predicted class per sample; comparing with
#    the labels gives booleans, which ``float()`` turns into 0 and 1, so
#    their mean is the fraction.

torch.manual_seed(0)
scores = torch.randn(8, 3)
labels = torch.randint(0, 3, (8,))
hits = scores.argmax(dim=1) == labels
accuracy = hits.float().mean().item()
print(f"{hits.sum().item()} of 8 right: accuracy {accuracy:.3f}")
assert isinstance(accuracy, float)
assert accuracy == sum(hits.tolist()) / 8
