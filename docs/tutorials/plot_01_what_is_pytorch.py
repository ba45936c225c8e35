"""
What PyTorch is
===============

PyTorch is a Python library for computing with tensors (n-dimensional arrays) on a CPU or a GPU,
with automatic differentiation built in. This page shows those features at work instead of
listing them. After reading it you will be able to:

* explain what a dynamic computation graph is, and see one change with the data;
* compute gradients with ``backward()``, and know why it needs a scalar output;
* pick a device once with :func:`pttour.pick_device` and move tensors to it;
* share memory between NumPy arrays and tensors, and know when a copy is made;
* judge when a GPU is faster than a CPU, and when it is not.

**What you need:** PyTorch ≥ 2.6, pttour, NumPy and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# The graph is built while the code runs
# --------------------------------------
#
# PyTorch records the operations on tensors that require gradients as the code runs. The
# record, a graph of functions, is built anew on every run. So ordinary Python control flow
# (``if``, ``while``, a loop over the data) decides the shape of the graph, and the data can
# change it from one call to the next.
#
# The function below doubles its input until the sum of the absolute values reaches 100.
# How many times it doubles depends on the values in the tensor, which are only known at
# run time.

import torch

torch.manual_seed(0)


def double_until_large(x: torch.Tensor, limit: float = 100.0) -> tuple[torch.Tensor, int]:
    """Double ``x`` until the sum of its absolute values reaches ``limit``."""
    y = x
    steps = 0
    while y.abs().sum().item() < limit:  # a Python loop driven by a tensor's value
        y = y * 2
        steps += 1
    return y, steps


def graph_nodes(output: torch.Tensor) -> list[str]:
    """Names of the backward functions that autograd recorded for ``output``."""
    names = []
    node = output.grad_fn
    while node is not None:
        names.append(type(node).__name__)
        # Each node here has one input that was recorded; follow it towards the leaf.
        recorded = [parent for parent, _ in node.next_functions if parent is not None]
        node = recorded[0] if recorded else None
    return names


small = torch.tensor([1.5, -0.5], requires_grad=True)
y, steps = double_until_large(small)
loss = y.sum()
loss.backward()
print(f"input {small.tolist()}: doubled {steps} times")
print(f"graph: {' <- '.join(graph_nodes(loss))}")
print(f"gradient d(sum)/d(input) = {small.grad.tolist()}  (2 ** {steps} = {2**steps})")

# %%
# A different input runs the loop a different number of times, so autograd records a
# different graph, and the gradient changes with it. Nothing had to be declared or compiled
# in advance.

large = torch.tensor([30.0, 10.0], requires_grad=True)
y, steps = double_until_large(large)
loss = y.sum()
loss.backward()
print(f"input {large.tolist()}: doubled {steps} times")
print(f"graph: {' <- '.join(graph_nodes(loss))}")
print(f"gradient d(sum)/d(input) = {large.grad.tolist()}  (2 ** {steps} = {2**steps})")

# %%
# Each name is one recorded operation: ``MulBackward0`` is a multiplication,
# ``SumBackward0`` the sum, and ``AccumulateGrad`` stores the result in the input's
# ``.grad``. The graph is freed after ``backward()``, ready for the next run.
#
# Gradients need a scalar output
# ------------------------------
#
# ``backward()`` computes the derivative of one number with respect to the inputs. When the
# output is a vector, "the gradient" is not defined until you say how to combine its
# elements, and PyTorch refuses to guess:

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
squares = x**2  # three outputs, one per element
try:
    squares.backward()
except RuntimeError as err:
    print(f"{type(err).__name__}: {err}")

# %%
# There are two ways out. Reduce the output to a scalar first, for example with ``sum()``
# (a loss is always a scalar), or pass the weights of each output element as ``gradient``.
# Weights of one give the same result as the sum: ``d(sum of x**2)/dx = 2 * x``.

squares.sum().backward()
print(f"via sum():            x.grad = {x.grad.tolist()}")

x.grad = None  # backward() adds into .grad, so clear it before the second computation
squares = x**2
squares.backward(gradient=torch.ones_like(squares))
print(f"via gradient=ones:    x.grad = {x.grad.tolist()}")

# %%
# Devices: choose once, move the data there
# -----------------------------------------
#
# Every tensor lives on a device: the CPU, a CUDA GPU, or Apple's MPS. Operations need their
# inputs on the same device. Portable code chooses the device in one place and moves data
# there with ``.to(device)``; :func:`pttour.pick_device` prefers a CUDA GPU, then MPS, then
# the CPU. This page was built on a machine without a GPU, so the output below says ``cpu``;
# the same code uses the GPU where there is one.

import pttour

device = pttour.pick_device()
print(f"picked device: {device}")

features = torch.randn(4, 3)  # created on the CPU
features_on_device = features.to(device)
print(pttour.describe(features_on_device))

# %%
# ``tensor.to(device)`` returns a tensor on the target device and leaves the original where
# it was. When the tensor is already there, it returns the same tensor without copying.

print(f"original still on:          {features.device}")
print(f"same object when no move:   {features.to('cpu') is features}")
result = features_on_device @ torch.ones(3, 2, device=device)  # create new data on the device
print(f"result on:                  {result.device}")

# %%
# On a machine with a GPU, mixing devices fails with an error instead of copying silently:
#
# .. code-block:: python
#
#     torch.ones(2, device="cuda") + torch.ones(2)   # CPU tensor with more than one element
#     # RuntimeError: Expected all tensors to be on the same device, ...
#
# For a whole batch (a tuple or dict of tensors) or a model, :func:`pttour.move_to` does the
# same in one call.

batch = {"features": features, "labels": torch.tensor([0, 1, 1, 0])}
batch_on_device = pttour.move_to(batch, device)
print({key: str(value.device) for key, value in batch_on_device.items()})

# %%
# NumPy interoperability
# ----------------------
#
# Tensors on the CPU and NumPy arrays can share one block of memory. ``torch.from_numpy``
# wraps an array without copying, so a change through either name shows in both.
# ``torch.tensor(array)`` copies instead.

import numpy as np

array = np.zeros(3, dtype=np.float32)
shared = torch.from_numpy(array)
copied = torch.tensor(array)

array[0] = 7.0  # write through NumPy
shared[1] = 5.0  # write through torch
print(f"array:   {array}")
print(f"shared:  {shared}")
print(f"copied:  {copied}")
print(f"same memory: {np.shares_memory(array, shared.numpy())}")

# %%
# Two details matter in practice. NumPy's default float type is ``float64`` while PyTorch's
# is ``float32``, and ``from_numpy`` keeps the array's type. And ``.numpy()`` works only for
# CPU tensors: copy a GPU tensor back with ``.cpu()`` first.

print(f"from a default NumPy array: {torch.from_numpy(np.array([1.0, 2.0])).dtype}")
print(f"default torch float:        {torch.tensor([1.0, 2.0]).dtype}")
on_device = torch.arange(3.0, device=device)
print(f"back to NumPy:              {on_device.cpu().numpy()}")

# %%
# .. _cpu-vs-gpu-timing:
#
# Is the GPU faster? It depends on the size
# -----------------------------------------
#
# A GPU runs thousands of arithmetic operations in parallel, but each call costs a fixed
# launch time of several microseconds, and data on the CPU must first be copied to the GPU
# and the result copied back. For small tensors these costs dominate and the CPU wins.
#
# The figures below were measured on an NVIDIA H100 80GB HBM3 with torch 2.11.0+cu130 and
# CUDA 13.0, on 2026-11-26, with :func:`pttour.time_matmul`: the median time of one
# ``n x n`` float32 matrix product. Three ways were timed on that machine: on its CPU (16
# threads), on the GPU with the data already there, and on the GPU including the copies of
# both inputs to the GPU and of the result back.

# Measured on an NVIDIA H100 80GB HBM3, torch 2.11.0+cu130, CUDA 13.0, on 2026-11-26:
# pttour.time_matmul(n, device), float32 n x n matmul, median seconds per product.
# "cpu": the machine's 16 CPU threads; "gpu": inputs already on the GPU;
# "gpu_with_transfer": copy both inputs to the GPU, multiply, copy the result back.
H100_MEASUREMENTS = {
    # n: (cpu_s, gpu_s, gpu_with_transfer_s)
    2: (5.98099999393753e-06, 2.476800000295043e-05, 7.436599999977034e-05),
    16: (3.881999994348462e-06, 2.3665000000505643e-05, 7.49690000034775e-05),
    128: (1.3547000001778997e-05, 3.272100000373257e-05, 0.0001278729999967254),
    1024: (0.001909569999995142, 7.90189999975155e-05, 0.001274442000003262),
    4096: (0.10770395699999824, 0.0026759739999988597, 0.059343617999999765),
}

print("NVIDIA H100 80GB HBM3, torch 2.11.0+cu130, CUDA 13.0, measured 2026-11-26")
print("float32 n x n matmul, median microseconds per product")
print(f"{'n':>5} {'CPU (16 thr)':>13} {'GPU':>10} {'GPU + copies':>13}  faster")
for n, (cpu_s, gpu_s, transfer_s) in H100_MEASUREMENTS.items():
    fastest = min(
        ("CPU", cpu_s), ("GPU", gpu_s), ("GPU + copies", transfer_s), key=lambda pair: pair[1]
    )[0]
    print(f"{n:>5} {cpu_s * 1e6:>13.1f} {gpu_s * 1e6:>10.1f} {transfer_s * 1e6:>13.1f}  {fastest}")

# %%
# Up to ``n = 128`` the CPU wins: about 6 microseconds for a 2 x 2 product against 25 on the
# GPU, and 74 with the copies. At ``n = 4096`` the GPU is 40 times faster than the CPU, and
# still faster when the copies are included, because the work then grows as ``n**3`` while
# the copies grow only as ``n**2``.
#
# The same CPU measurement, repeated below on the machine that built this page, adds a
# fourth line to the figure. That line describes the build machine, not the H100 host: its
# processor is printed with it. It is measured with a single thread, because a build machine
# often runs other work at the same time, and several threads that wait for each other on a
# busy machine give slow and irregular times.

import os

build_threads = 1
threads_before = torch.get_num_threads()
torch.set_num_threads(build_threads)
try:
    build_sizes = (2, 16, 128, 512)
    build_cpu_seconds = [pttour.time_matmul(n, "cpu") for n in build_sizes]
finally:
    torch.set_num_threads(threads_before)  # leave torch as we found it

cpu_name = pttour.collect_environment().devices[0].name
print(f"build machine: {cpu_name}, {os.cpu_count()} cores, measured with {build_threads} thread")
for n, seconds in zip(build_sizes, build_cpu_seconds, strict=True):
    print(f"{n:>5} {seconds * 1e6:>13.1f} microseconds")

# %%
# The plot uses logarithmic axes on both sides, so that microseconds and a tenth of a second
# fit in one picture.

import matplotlib.pyplot as plt

sizes = list(H100_MEASUREMENTS)
h100_cpu, h100_gpu, h100_transfer = zip(*H100_MEASUREMENTS.values(), strict=True)

fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.loglog(sizes, h100_cpu, "o-", label="H100 host CPU (16 threads)")
ax.loglog(sizes, h100_gpu, "s-", label="H100 GPU, data already there")
ax.loglog(sizes, h100_transfer, "^-", label="H100 GPU, with copies")
ax.loglog(
    build_sizes,
    build_cpu_seconds,
    "x--",
    color="grey",
    label=f"build machine CPU ({build_threads} thread)",
)
ticks = sorted({*sizes, *build_sizes})
ax.set_xticks(ticks, [str(n) for n in ticks])
ax.minorticks_off()
ax.set_xlabel("matrix size n (n x n, float32)")
ax.set_ylabel("seconds per product (median)")
ax.set_title("The GPU is not always faster")
ax.legend(fontsize="small")
plt.show()

# %%
# Your own machine will give other numbers. The CPU line depends on the processor and on
# how many threads torch uses (``torch.get_num_threads()``; the build machine's line used
# one, the H100 host's sixteen). The GPU lines depend on the GPU
# model, the driver and the CUDA version, and on the data type: half precision can be much
# faster than float32 on recent GPUs, and float64 much slower. Where the lines cross moves
# with all of these, so measure on your own hardware before you decide, for example with
# ``pttour.time_matmul(1024, "cuda")``. When timing GPU code by hand, call
# ``torch.cuda.synchronize()`` before reading the clock: GPU work is queued and runs later,
# so without it you measure only the launch.
#
# The article's claim that the GPU is faster is discussed with its section on tensors, in
# :ref:`erratum E09 <erratum-e09>`.

# %%
# .. _erratum-e01:
#
# Erratum E01: Advanced APIs promised, basics delivered
# -----------------------------------------------------
#
# The article's introduction promises a tour of PyTorch's advanced APIs for building complex
# models.
#
# Its examples never go beyond the basics: a linear layer with two inputs, a dataset of two
# samples, and a checkpoint of that layer. Custom autograd functions, mixed precision,
# compilation or distributed training do not appear.
#
# This tour therefore presents the same path for what it is: an introduction to the
# everyday basics, one page per section of the article.

for page, title in pttour.TUTORIALS.items():
    print(f"{page:<28} {title}")

# %%
# .. _erratum-e02:
#
# Erratum E02: Gradients of any tensor
# ------------------------------------
#
# The article says that autograd can compute the gradient of any tensor.
#
# Two cases show that it cannot. An integer tensor cannot even ask for gradients:

counts = torch.tensor([1, 2, 3])
try:
    counts.requires_grad_()
except RuntimeError as err:
    print(f"{type(err).__name__}: {err}")

# %%
# And after ``backward()``, an intermediate result has no gradient stored: reading its
# ``.grad`` gives ``None`` with a warning.

import warnings

weight = torch.tensor(2.0, requires_grad=True)
hidden = weight * 3  # an intermediate result, not a leaf
output = hidden**2
output.backward()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(f"hidden.grad = {hidden.grad}")
for warning in caught:
    print(f"{warning.category.__name__}: {warning.message}")
print(f"weight.grad = {weight.grad}")

# %%
# A derivative is defined for values that vary continuously, so only floating-point and
# complex tensors can require gradients. And to save memory, ``backward()`` stores gradients
# only in the leaves of the graph that require them (the tensors you created, such as a
# model's parameters), not in the intermediate results.
#
# The fix: create the tensors you need gradients for as floating-point leaves with
# ``requires_grad=True``. For an intermediate result, call ``.retain_grad()`` before
# ``backward()``, or ask for the gradient directly with ``torch.autograd.grad``.

values = pttour.make_tensor([1, 2, 3], dtype=torch.float32, requires_grad=True)
print(f"float leaf: {values}")

weight = torch.tensor(2.0, requires_grad=True)
hidden = weight * 3
hidden.retain_grad()
output = hidden**2
output.backward()
print(f"with retain_grad(): hidden.grad = {hidden.grad}")

weight = torch.tensor(2.0, requires_grad=True)
middle = weight * 3
(grad_middle,) = torch.autograd.grad(middle**2, middle)
print(f"with autograd.grad: d(output)/d(middle) = {grad_middle}")

# %%
# Takeaways
# ---------
#
# * PyTorch builds the computation graph while your code runs, so Python control flow
#   decides its shape and the data can change it on every call.
# * ``backward()`` differentiates a scalar; reduce a vector output first, or pass
#   ``gradient=``. Gradients exist for floating-point tensors, and are stored in leaves.
# * Choose the device once with :func:`pttour.pick_device`, move data with ``.to(device)``
#   or :func:`pttour.move_to`, and inspect a tensor with :func:`pttour.describe`.
# * ``torch.from_numpy`` shares memory with the array; ``torch.tensor`` copies.
# * A GPU pays off for large work with the data kept on it; for small tensors the CPU can be
#   faster. Measure on your own hardware with :func:`pttour.time_matmul`.
