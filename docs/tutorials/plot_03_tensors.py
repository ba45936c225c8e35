"""
Tensors: creation, dtype and device
===================================

A tensor is an n-dimensional array of numbers of one type, stored on one
device. Three properties describe it: its shape, its data type (dtype) and its
device. After reading this page you will be able to:

* tell apart a tensor's shape, its number of dimensions and its number of
  elements;
* create a tensor with ``torch.tensor`` and a factory function, with an
  explicit dtype and device, and avoid the legacy ``torch.Tensor(...)``
  constructor;
* read what ``print`` shows of a tensor, and what it leaves out;
* predict the dtype of a result when tensors of different dtypes meet.

**What you need:** PyTorch ≥ 2.6. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install it.
"""

# %%
# Shape, number of dimensions, number of elements
# -----------------------------------------------
#
# Three different numbers describe the size of a tensor, and they are easy to
# confuse:
#
# * ``shape`` is the size along each dimension, a ``torch.Size`` (a tuple);
# * ``ndim`` is the number of dimensions, ``len(shape)``;
# * ``numel()`` is the number of elements, the product of the sizes.

import torch

batch = torch.zeros(2, 3, 4)  # e.g. 2 samples, 3 channels, 4 time steps
print(f"shape   {batch.shape}")
print(f"ndim    {batch.ndim}")
print(f"numel() {batch.numel()}")
print(f"len()   {len(batch)}   (only the size of the first dimension)")

# %%
# .. _erratum-e08:
#
# Erratum E08: Shape is not the element count
# -------------------------------------------
#
# The article defines the shape of a tensor as the number of its elements.
# Tensors of 24 elements show the difference: many shapes share one count.

for shape in ((24,), (2, 12), (2, 3, 4)):
    example = torch.zeros(shape)
    print(
        f"shape {example.shape}: ndim {example.ndim}, numel {example.numel()}"
    )

# %%
# The shape decides whether two tensors can be added, multiplied or fed to a
# layer: a ``(2, 12)`` and a ``(2, 3, 4)`` tensor hold as many numbers but do
# not combine. The fix: read ``shape`` as the size along each dimension,
# ``numel()`` as the count of elements and ``ndim`` as the number of
# dimensions. A scalar tensor has the empty shape ``()`` and one element.
# :ref:`All errata <e08>`
#
# Creating a tensor
# -----------------
#
# The factory function ``torch.tensor(data)`` copies nested Python lists (or a
# NumPy array) into a new tensor. Without ``dtype``, it infers the type from
# the data: Python integers give ``int64``, floats the default float type
# ``float32``, booleans ``bool``.

for data in ([1, 2], [1.0, 2.0], [1, 2.5], [True, False]):
    print(f"{data!s:<14} -> {torch.tensor(data).dtype}")

# %%
# Pass ``dtype`` at creation, so that the values are converted once.
# ``device=`` saves the extra ``.to(device)`` line, but ``torch.tensor`` still
# builds the tensor in CPU memory and then copies it. To create large data
# directly on the device, use a factory function such as ``torch.zeros``,
# ``torch.ones``, ``torch.arange`` or ``torch.randn`` with ``device=``.

device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)
pixels = torch.tensor([[0, 128], [255, 64]], dtype=torch.uint8, device=device)
noise = torch.randn(
    2, 3, dtype=torch.float64, device=device
)  # created on the device
print(pixels.dtype, pixels.device, noise.dtype, noise.device)

# %%
# .. _erratum-e06:
#
# Erratum E06: Legacy torch.Tensor constructor
# --------------------------------------------
#
# The article presents the class constructor ``torch.Tensor(data)`` as the way
# to create a tensor from a list. ``torch.Tensor``, with a capital T, is the
# tensor class, and calling it is a legacy spelling that behaves differently
# from ``torch.tensor``:

legacy = torch.Tensor([[1, 2], [3, 4]])
print(f"torch.Tensor([[1, 2], [3, 4]]) -> dtype {legacy.dtype}")
not_three = torch.Tensor(3)  # three uninitialised elements, not the value 3
print(
    f"torch.Tensor(3) -> shape {tuple(not_three.shape)}, numel {not_three.numel()}"
)

# %%
# The integers silently became floats, and ``torch.Tensor(3)`` allocated three
# elements without setting them: their values are whatever was in memory. The
# class constructor predates the factory functions and is kept so that old code
# still runs. The fix is ``torch.tensor``, which keeps the values and infers
# the dtype (``torch.as_tensor`` does the same, but avoids a copy when the data
# already has the right type). :ref:`All errata <e06>`

print(
    f"torch.tensor([[1, 2], [3, 4]]) -> dtype {torch.tensor([[1, 2], [3, 4]]).dtype}"
)
print(
    f"torch.tensor(3) -> {torch.tensor(3)!r}, shape {tuple(torch.tensor(3).shape)}"
)

# %%
# What print() shows
# ------------------
#
# The article prints a tensor and its three properties, and comments each line
# with what it expects to see. Two of those comments do not match what Python
# prints.
#
# .. _erratum-e38:
#
# Erratum E38: print() shows a device's str, not its repr
# -------------------------------------------------------
#
# The article's comment says ``print(x.device)`` shows ``device(type='cpu')``:

x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
print(x.device)
print(repr(x.device))

# %%
# ``print`` converts its argument with ``str()``, which gives ``cpu``.
# ``device(type='cpu')`` is the ``repr()``, which the interactive prompt (or a
# notebook) shows for ``x.device`` alone. The fix is a correct comment:
# ``print(x.device)`` prints ``cpu``. :ref:`All errata <e38>`
#
# .. _erratum-e39:
#
# Erratum E39: Printing a tensor shows neither its shape nor a default dtype
# --------------------------------------------------------------------------
#
# The article says that printing a tensor shows its content and its shape, and
# that the printout shows the type ``torch.float32``. It shows the values only:

print(x)
print(torch.tensor([[1, 2]], dtype=torch.int32))

# %%
# The printout names the dtype only for types other than the defaults, such as
# ``float32`` and ``int64``, and it never shows the shape of a tensor that has
# elements. The fix: read the shape from ``x.shape`` and the dtype from
# ``x.dtype``. :ref:`All errata <e39>`

print(x.shape, x.dtype)

# %%
# Choosing the dtype
# ------------------
#
# .. _erratum-e40:
#
# Erratum E40: dtype is not a positional parameter
# ------------------------------------------------
#
# The article says the constructor takes the data as its only argument, and
# that its second parameter sets the data type. Neither ``torch.Tensor`` nor
# ``torch.tensor`` accepts a dtype as a second positional argument:

for create in (torch.Tensor, torch.tensor):
    try:
        create([[1, 2]], torch.int32)
    except TypeError as err:
        print(f"TypeError: {str(err).splitlines()[0]}")

# %%
# ``torch.Tensor`` has no dtype parameter at all, and ``torch.tensor`` takes
# ``dtype`` as a keyword-only argument: everything after the data is passed by
# name. The fix: ``torch.tensor(data, dtype=torch.int32)``. :ref:`All errata
# <e40>`
#
# .. _erratum-e07:
#
# Erratum E07: dtype= passed to torch.Tensor
# ------------------------------------------
#
# The article's code then passes ``dtype=torch.int32`` to ``torch.Tensor``.
# That fails too:

try:
    torch.Tensor([[1, 2]], dtype=torch.int32)
except TypeError as err:
    print(f"TypeError: {err}")

# %%
# The legacy constructor accepts data, a shape, a storage or another tensor,
# with ``device=`` as its only keyword: the list of signatures in the message
# has no ``dtype``. The article's example cannot have run as written. The fix
# is the factory function with the same arguments. :ref:`All errata <e07>`

print(torch.tensor([[1, 2]], dtype=torch.int32))

# %%
# Mixing dtypes: type promotion
# -----------------------------
#
# When an operation combines operands of different dtypes, PyTorch computes in
# a common type. The result has the highest category among the operands (bool,
# then integers, then floating point, then complex). Its width comes from the
# operands of that category, looking first at tensors with at least one
# dimension, then at zero-dimensional tensors, and only then at Python numbers,
# which give the default type (``float32`` for a float). True division ``/``
# always gives a floating-point result. ``torch.result_type`` tells the answer
# without computing anything.

int32s = torch.tensor([1, 2], dtype=torch.int32)
int64s = torch.tensor([1, 2])
float32s = torch.tensor([1.0, 2.0])
float64_scalar = torch.tensor(1.0, dtype=torch.float64)  # zero-dimensional

examples = {
    "int32 + int64": int32s + int64s,
    "int32 + 7": int32s + 7,
    "int32 + 2.5": int32s + 2.5,
    "int32 + 0-dim float64": int32s + float64_scalar,
    "float32 + 0-dim float64": float32s + float64_scalar,
    "uint8 + int8": torch.tensor([1], dtype=torch.uint8)
    + torch.tensor([1], dtype=torch.int8),
    "int64 / 2": int64s / 2,
}
for expression, result in examples.items():
    print(f"{expression:<24} -> {result.dtype}")
print(f"result_type(int32s, 2.5) -> {torch.result_type(int32s, 2.5)}")

# %%
# ``uint8 + int8`` gives ``int16``, the smallest type that holds both ranges.
# The zero-dimensional ``float64`` tensor does not widen a ``float32`` tensor,
# but it does decide the type when it meets integers, where a Python ``2.5``
# gives ``float32``.
#
# An in-place operation keeps its target's dtype. When the result needs a
# higher category (a float into an integer tensor) it fails; otherwise the
# result is silently cast to the target's dtype, even a narrower one, and an
# integer that does not fit wraps around:

counts = torch.tensor([1, 2, 3])
try:
    counts += 0.5
except RuntimeError as err:
    print(f"RuntimeError: {err}")
small = torch.tensor([1, 2], dtype=torch.int8)
small += 1000
print(f"int8 += 1000 -> {small}")

# %%
# .. _erratum-e09:
#
# Erratum E09: GPU is always faster
# ---------------------------------
#
# The article says that a tensor on the GPU is computed faster. That depends on
# the size of the work. On an NVIDIA H100 (torch 2.11.0+cu130, measured
# 2026-11-26), one 2 x 2 float32 matrix product took 6 microseconds on the CPU
# and 25 on the GPU, 74 with the copies to the GPU and back; at 4096 x 4096 the
# GPU was 40 times faster than the CPU. Every GPU operation pays a fixed launch
# cost, and data in CPU memory must be copied to the GPU and back, so small
# work gains nothing. The figure on the page :ref:`What PyTorch is
# <cpu-vs-gpu-timing>` shows all the sizes measured.
#
# The fix: send large, batched work to the GPU, create the data there or move
# it once, and keep it there across operations, copying only the final result
# back:

signal = torch.randn(256, 256, device=device)
mixing = torch.randn(256, 256, device=device) / 16
for _ in range(10):
    signal = torch.tanh(signal @ mixing)
summary = (
    signal.abs().mean().item()
)  # the only copy back to the CPU: one number
print(f"computed on {signal.device}: mean absolute value {summary:.3f}")

# %%
# Measure on your own hardware before you decide:
# ``torch.utils.benchmark.Timer`` times a statement on any device, waiting for
# queued GPU work before it reads the clock. :ref:`All errata <e09>`
#
# Takeaways
# ---------
#
# * ``shape`` is the size per dimension, ``ndim`` the number of dimensions,
#   ``numel()`` the number of elements.
# * Create tensors with ``torch.tensor`` or a factory function, passing
#   ``dtype`` (by keyword) and ``device`` at creation; avoid the legacy
#   ``torch.Tensor(...)``.
# * ``print(x)`` shows the values; read ``x.shape``, ``x.dtype`` and
#   ``x.device`` for the rest.
# * Mixed dtypes are promoted to a common type, which ``torch.result_type``
#   predicts; in-place operations never widen their target, and may silently
#   narrow it.
# * A GPU is faster only for large enough work with the data kept on it.
