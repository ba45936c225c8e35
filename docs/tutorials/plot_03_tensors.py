"""
Tensors
=======

A tensor is an n-dimensional array of numbers of one type, stored on one device. Three
properties describe it: its shape, its data type (dtype) and its device. After reading this
page you will be able to:

* create a tensor with an explicit dtype and device, using ``torch.tensor`` or
  :func:`pttour.make_tensor`;
* tell apart a tensor's shape, its number of dimensions and its number of elements;
* predict the dtype of the result when tensors of different dtypes meet;
* avoid the legacy ``torch.Tensor(...)`` constructor, and know what it does differently.

**What you need:** PyTorch ≥ 2.6, pttour and NumPy. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Creating a tensor
# -----------------
#
# The factory function ``torch.tensor(data)`` copies nested Python lists (or a NumPy array)
# into a new tensor. Pass ``dtype`` and ``device`` when you create it, rather than converting
# afterwards: the values are then written once, in the right type, in the right place.
#
# :func:`pttour.make_tensor` is a thin wrapper around ``torch.tensor`` that turns a few silent
# or cryptic cases into clear errors. :func:`pttour.describe` prints the properties of a
# tensor in one line.

import torch

import pttour

torch.manual_seed(0)
device = pttour.pick_device()

pixels = pttour.make_tensor([[0, 128], [255, 64]], dtype=torch.uint8, device=device)
weights = pttour.make_tensor([[0.5, -1.0], [2.0, 0.25]], dtype=torch.float32, device=device)
print(pixels)
print(pttour.describe(pixels))
print(pttour.describe(weights))

# %%
# Without ``dtype``, the type is inferred from the data: Python integers give ``int64``,
# floats give the default float type ``float32``, and booleans give ``bool``.

for data in ([1, 2], [1.0, 2.0], [1, 2.5], [True, False]):
    print(f"{data!s:<14} -> {pttour.make_tensor(data).dtype}")

# %%
# ``make_tensor`` rejects a dtype written as a string, and ``requires_grad=True`` on integer
# data, with a message that says what to write instead:

for bad_call in (
    lambda: pttour.make_tensor([1, 2], dtype="int32"),
    lambda: pttour.make_tensor([1, 2], requires_grad=True),
):
    try:
        bad_call()
    except (TypeError, ValueError) as err:
        print(f"{type(err).__name__}: {err}")

# %%
# Shape, number of dimensions, number of elements
# -----------------------------------------------
#
# Three different numbers describe the size of a tensor, and they are easy to confuse:
#
# * ``shape`` is the size along each dimension, a ``torch.Size`` (a tuple);
# * ``ndim`` is the number of dimensions, ``len(shape)``;
# * ``numel()`` is the number of elements, the product of the sizes.

batch = torch.zeros(2, 3, 4)  # e.g. 2 samples, 3 channels, 4 time steps
print(f"shape   {batch.shape}")
print(f"ndim    {batch.ndim}")
print(f"numel() {batch.numel()}")
print(f"len()   {len(batch)}   (only the size of the first dimension)")

# %%
# A scalar tensor has an empty shape, zero dimensions and one element; a tensor with a
# dimension of size zero has no elements at all.

for example in (torch.tensor(3.5), torch.zeros(0, 3), torch.zeros(2, 3, 4)):
    print(pttour.describe(example))

# %%
# Mixing dtypes: type promotion
# -----------------------------
#
# When an operation combines tensors of different dtypes, PyTorch computes in a common type
# chosen by fixed rules. In short: a floating-point operand makes the result floating point;
# between tensors of the same kind, the wider type wins; a Python number never widens a
# tensor of its own kind; and true division ``/`` always gives a floating-point result.
# ``torch.result_type`` tells the answer without computing anything.

int32s = torch.tensor([1, 2], dtype=torch.int32)
int64s = torch.tensor([1, 2])
uint8s = torch.tensor([1, 2], dtype=torch.uint8)
int8s = torch.tensor([1, 2], dtype=torch.int8)
float32s = torch.tensor([1.0, 2.0])
float64_scalar = torch.tensor(1.0, dtype=torch.float64)

examples = {
    "int64 + 0.5": int64s + 0.5,
    "int32 + int64": int32s + int64s,
    "int32 + 7": int32s + 7,
    "int64 / 2": int64s / 2,
    "int64 // 2": int64s // 2,
    "uint8 + int8": uint8s + int8s,
    "float32 + float64 scalar": float32s + float64_scalar,
}
for expression, result in examples.items():
    print(f"{expression:<26} -> {result.dtype}")
print(f"result_type(int32, 2.5)    -> {torch.result_type(int32s, 2.5)}")

# %%
# ``uint8 + int8`` gives ``int16``, the smallest type holding both ranges. A zero-dimensional
# tensor counts like a Python number: ``float64_scalar`` does not widen a ``float32``
# tensor. An in-place operation cannot change the dtype of its target, so one that would
# need a wider type fails:

counts = torch.tensor([1, 2, 3])
try:
    counts += 0.5
except RuntimeError as err:
    print(f"{type(err).__name__}: {err}")
print(f"out of place instead: {counts + 0.5}")

# %%
# .. _erratum-e06:
#
# Erratum E06: Legacy torch.Tensor constructor
# --------------------------------------------
#
# The article presents the class constructor ``torch.Tensor(data)`` as the way to create a
# tensor from a list.
#
# ``torch.Tensor`` with a capital T is the tensor class. Calling it directly is a legacy
# spelling that behaves differently from ``torch.tensor``: it always makes the default float
# type, and it reads bare integers as a shape.

legacy = torch.Tensor([[1, 2], [3, 4]])
print(f"torch.Tensor([[1, 2], [3, 4]]) -> dtype {legacy.dtype}")
print(legacy)

not_three = torch.Tensor(3)  # three uninitialised elements, not the value 3
print(f"torch.Tensor(3) -> shape {tuple(not_three.shape)}, numel {not_three.numel()}")

# %%
# The integers silently became floats, and ``torch.Tensor(3)`` allocated three elements
# without setting them: their values are whatever was in memory. The class constructor
# predates the factory functions, and is kept only so that old code still runs.
#
# The fix is the factory function ``torch.tensor``: it infers the dtype from the data and
# accepts ``dtype=`` and ``device=``. ``torch.as_tensor`` does the same but avoids a copy
# when the data is already a tensor or a NumPy array of the right type.

print(f"torch.tensor([[1, 2], [3, 4]]) -> dtype {torch.tensor([[1, 2], [3, 4]]).dtype}")
print(f"torch.tensor(3) -> {torch.tensor(3)}, shape {tuple(torch.tensor(3).shape)}")

import numpy as np

array = np.arange(3.0)
print(f"as_tensor shares the array's memory: {np.shares_memory(array, torch.as_tensor(array))}")

# %%
# .. _erratum-e07:
#
# Erratum E07: dtype= passed to torch.Tensor
# ------------------------------------------
#
# To get an integer tensor, the article passes ``dtype=torch.int32`` to ``torch.Tensor``.
# That call fails on the installed torch:

try:
    torch.Tensor([[1, 2]], dtype=torch.int32)
except TypeError as err:
    print(f"{type(err).__name__}: {err}")

# %%
# The legacy constructor accepts data, a shape, a storage or another tensor, and ``device=``
# as its only keyword: the list of signatures in the message has no ``dtype``. The article's
# example cannot have run as written.
#
# The fix is ``torch.tensor`` (or :func:`pttour.make_tensor`) with the same arguments:

print(torch.tensor([[1, 2]], dtype=torch.int32))
print(pttour.make_tensor([[1, 2]], dtype=torch.int32, device=device))

# %%
# .. _erratum-e08:
#
# Erratum E08: Shape is not the element count
# -------------------------------------------
#
# The article defines the shape of a tensor as the number of its elements.
#
# A tensor with 24 elements shows the difference: its shape is a size per dimension, and
# many shapes share the same count.

for shape in ((24,), (2, 12), (2, 3, 4)):
    example = torch.zeros(shape)
    print(f"shape {example.shape}: ndim {example.ndim}, numel {example.numel()}")

# %%
# The shape is what decides whether two tensors can be added, multiplied or fed to a layer:
# a ``(2, 12)`` and a ``(2, 3, 4)`` tensor hold as many numbers but do not combine. The count
# of elements is the product of the sizes, and it is only one of the three numbers that
# describe the size.
#
# The fix: read ``shape`` as the size along each dimension, and use ``numel()`` for the
# element count and ``ndim`` for the number of dimensions. :func:`pttour.describe` prints the
# three side by side:

print(pttour.describe(torch.zeros(2, 3, 4)))

# %%
# .. _erratum-e09:
#
# Erratum E09: GPU is always faster
# ---------------------------------
#
# The article says that a tensor on the GPU is computed faster.
#
# That depends on the size of the work. The measurements below, of one ``n x n`` float32
# matrix product, were made on an NVIDIA H100 80GB HBM3 with torch 2.11.0+cu130 and CUDA 13.0
# on 2026-11-26. The build machine of this page has no GPU, so they are quoted, not rerun.

# NVIDIA H100 80GB HBM3, torch 2.11.0+cu130, CUDA 13.0, measured 2026-11-26 with
# pttour.time_matmul: median seconds per float32 n x n product, on the host's 16 CPU threads,
# on the GPU with the data already there, and on the GPU including the copies both ways.
H100_SMALLEST_AND_LARGEST = {
    # n: (cpu_s, gpu_s, gpu_with_transfer_s)
    2: (5.98099999393753e-06, 2.476800000295043e-05, 7.436599999977034e-05),
    4096: (0.10770395699999824, 0.0026759739999988597, 0.059343617999999765),
}
print("NVIDIA H100 80GB HBM3, torch 2.11.0+cu130, CUDA 13.0, measured 2026-11-26")
for n, (cpu_s, gpu_s, transfer_s) in H100_SMALLEST_AND_LARGEST.items():
    print(
        f"{n} x {n}: CPU {cpu_s * 1e3:.3f} ms, GPU {gpu_s * 1e3:.3f} ms, "
        f"GPU with copies {transfer_s * 1e3:.3f} ms"
    )

# %%
# For a 2 x 2 product the GPU was four times slower than the CPU, and twelve times slower
# with the copies; for 4096 x 4096 it was 40 times faster. Every GPU operation pays a fixed
# launch cost of microseconds, and data in CPU memory must cross the bus to the GPU and back,
# so small work gains nothing. The figure on the page
# :ref:`What PyTorch is <cpu-vs-gpu-timing>` shows all the sizes measured.
#
# The fix: send large, batched work to the GPU, create or move the data there once, and keep
# it there across operations, copying only the final result back. When a GPU is present,
# this block measures it live:

if device.type == "cuda":
    for n in (2, 2048):
        on_gpu = pttour.time_matmul(n, device)
        with_copies = pttour.time_matmul(n, device, include_transfer=True)
        on_cpu = pttour.time_matmul(n, "cpu")
        print(
            f"{n} x {n}: CPU {on_cpu * 1e3:.3f} ms, GPU {on_gpu * 1e3:.3f} ms, "
            f"GPU with copies {with_copies * 1e3:.3f} ms"
        )
else:
    print(f"no GPU on this machine ({device}); nothing to measure live")

# A pattern that keeps the data on the device: create it there, compute, copy back once.
signal = torch.randn(256, 256, device=device)
mixing = torch.randn(256, 256, device=device) / 16
for _ in range(10):
    signal = torch.tanh(signal @ mixing)
summary = signal.abs().mean().item()  # the only copy back to the CPU: one number
print(f"result computed on {signal.device}: mean absolute value {summary:.3f}")

# %%
# Takeaways
# ---------
#
# * Create tensors with ``torch.tensor`` or :func:`pttour.make_tensor`, passing ``dtype`` and
#   ``device`` at creation; avoid the legacy ``torch.Tensor(...)`` constructor.
# * ``shape`` is the size per dimension, ``ndim`` the number of dimensions, ``numel()`` the
#   number of elements; :func:`pttour.describe` shows all three.
# * Mixed dtypes are promoted to a common type; ``torch.result_type`` predicts it, and
#   in-place operations cannot widen their target.
# * A GPU is faster only for large enough work with the data kept on it; measure with
#   :func:`pttour.time_matmul` and pick the device with :func:`pttour.pick_device`.
