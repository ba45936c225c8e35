"""
What PyTorch is
===============

PyTorch is an open-source Python library for deep learning. It computes with
tensors (n-dimensional arrays) on a CPU or on an accelerator such as a GPU, and
differentiates those computations automatically. After reading this page
you will be able to:

* create a tensor, choose a device once and move tensors and batches to it;
* compute a gradient with ``backward()``, and know when a graph can run
  backward a second time;
* pass data between NumPy and PyTorch, knowing when memory is shared;
* judge when a GPU is faster than a CPU, and when it is not.

**What you need:** PyTorch ≥ 2.6, pttour, NumPy and matplotlib. The
`installation page <https://pttour.github.io/pttour/en/install.html>`_ shows
how to install them.
"""

# %%
# A tensor
# --------
#
# A tensor holds numbers of one type in a grid with any number of dimensions.
# ``torch.tensor`` builds one from nested Python lists:

import torch

x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
print(x)
print(x.shape, x.dtype, x.device)
print(x * 10 + 1)  # arithmetic works element by element, as in NumPy

# %%
# Three properties describe every tensor: its shape (here two rows of two),
# its data type (``float32``, the default for decimal numbers) and its device,
# the memory that holds it (here the CPU). :ref:`Tensors
# <sphx_glr_auto_tutorials_plot_03_tensors.py>` covers them in depth.
#
# Choose a device once
# --------------------
#
# Besides the CPU, a tensor can live on an accelerator: a CUDA or ROCm GPU,
# Apple's MPS or Intel's XPU. ``torch.accelerator`` (PyTorch 2.6 and later)
# tells whether this machine has a usable one, so portable code chooses its
# device in one place:

device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)
print(f"device: {device}")

# %%
# This page was built without a GPU. :func:`pttour.pick_device` is the
# tested version of these three lines: it gives a GPU its index (``cuda:0``,
# as ``tensor.device`` shows it), and a device asked for by name but not
# usable raises an error instead of quietly falling back to the CPU.

import pttour

print(f"pttour.pick_device(): {pttour.pick_device()}")

# %%
# ``.to(device)`` returns a copy on that device (or the tensor itself if it is
# already there). An operation needs all its inputs on one device, and PyTorch
# never copies between devices behind your back. Training data comes in
# batches that group several tensors, such as a dict of features and labels;
# each tensor moves on its own:

on_device = x.to(device)
batch = {"features": torch.zeros(4, 3), "labels": torch.tensor([0, 1, 1, 0])}
moved = {name: tensor.to(device) for name, tensor in batch.items()}
print(x.device, on_device.device, moved["labels"].device)

# %%
# :func:`pttour.move_to` is the tested version of that line: it also walks
# lists, tuples and nested dicts, keeps their types, and leaves values that
# are not tensors (ids, file names) as they are.

moved = pttour.move_to(batch | {"ids": [7, 8, 9, 10]}, device)
print(moved["features"].device, moved["labels"].device, moved["ids"])

# %%
# A gradient with one ``backward()``
# ----------------------------------
#
# Create a tensor with ``requires_grad=True`` and PyTorch records every
# operation on it. ``backward()``, called on a one-element result such as a
# loss, runs that record in reverse and stores the derivative in the tensor's
# ``.grad``. At ``w = 3``, ``(w - 1)**2`` has the derivative ``2 * (w - 1)``,
# which is 4 (``.item()`` turns a one-element tensor into a Python number):

w = torch.tensor(3.0, requires_grad=True)
loss = (w - 1) ** 2
loss.backward()
print(f"loss {loss.item()}, d(loss)/dw {w.grad.item()}")

# %%
# The record, a graph of operations, is built anew while the code runs, so
# Python control flow decides its shape. Below, the input is doubled until
# the sum of its absolute values reaches 100: how often depends on values
# known only at run time, and the gradient follows.

for values in ([1.5, -0.5], [60.0, 50.0]):
    start = torch.tensor(values, requires_grad=True)
    result, steps = start, 0
    while result.abs().sum() < 100:  # a loop driven by a tensor's value
        result, steps = result * 2, steps + 1
    result.sum().backward()  # sum(): one element to start from
    print(f"{values}: doubled {steps} times, gradient {start.grad.tolist()}")

# %%
# The first input was doubled six times, so its gradient is ``2**6 = 64``;
# the second was already large, and its graph holds no multiplication at all.
# :ref:`Autograd and a training step
# <sphx_glr_auto_tutorials_plot_05_autograd_training.py>` trains a model
# this way.
#
# Running ``backward()`` twice
# ----------------------------
#
# To compute a derivative, some operations keep values from the forward
# computation: ``x**2`` keeps ``x``, because its derivative ``2 * x`` needs
# it. ``backward()`` frees those saved values, so a second ``backward()``
# through the same graph fails. A graph that saved no tensor can run again:
# the derivative of ``x + 1`` is 1 whatever ``x`` is, so it keeps nothing.

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
shifted = (x + 1).sum()
shifted.backward()
shifted.backward()  # nothing was freed: this works
print(f"after two backward(): x.grad = {x.grad.tolist()}")
squared = (x**2).sum()
squared.backward()
try:
    squared.backward()
except RuntimeError as err:
    print(f"RuntimeError: {str(err).split(' (')[0]}")

# %%
# Each ``backward()`` *adds* to ``.grad``: two runs gave 2, not 1. A
# multiplication keeps its factors, even a Python number, so ``x * 2`` fails
# the second time too. Pass ``retain_graph=True`` to the first call to keep
# the saved values; usually you run the forward computation again instead.
#
# NumPy interoperability
# ----------------------
#
# A CPU tensor and a NumPy array can share one block of memory.
# ``torch.from_numpy`` wraps an array without copying, so a change through
# either name shows in both; ``torch.tensor(array)`` copies.

import numpy as np

array = np.zeros(3, dtype=np.float32)
shared = torch.from_numpy(array)
copied = torch.tensor(array)
array[0] = 7.0  # write through NumPy
shared[1] = 5.0  # write through torch
print(f"array {array}, shared {shared}, copied {copied}")

# %%
# .. _cpu-vs-gpu-timing:
#
# Is the GPU faster? It depends on the size
# -----------------------------------------
#
# A GPU runs thousands of operations in parallel, but each call costs a fixed
# launch time of microseconds, and data in CPU memory must be copied to the
# GPU and back. ``torch.utils.benchmark.Timer`` times a statement: it runs it
# once untimed (the first call pays one-off costs), repeats it, waits for
# queued GPU work before reading the clock, and keeps the median. This page
# times one CPU thread, as the machine that builds it does other work too.

from torch.utils import benchmark

a = torch.ones(512, 512, device=device)
timer = benchmark.Timer("a @ a", globals={"a": a}, num_threads=1)
seconds = timer.blocked_autorange(min_run_time=0.2).median
print(f"512 x 512 on {device}: {seconds * 1e3:.3g} ms")

# %%
# :func:`pttour.time_matmul` is the tested version of this measurement: it
# checks its arguments, prints its result rounded with a unit, and with
# ``include_transfer=True`` also times the copies to the device and back. It
# measures the dashed line of the figure.

build_s = {n: pttour.time_matmul(n, "cpu") for n in (2, 16, 128, 512)}
print(", ".join(f"n={n}: {s}" for n, s in build_s.items()))

# %%
# The other lines were measured on 2026-11-26 on an NVIDIA H100 80GB HBM3
# with 16 CPU cores, torch 2.11.0+cu130 and CUDA 13.0: the median time of one
# float32 product on the 16 CPU threads, on the GPU with the data already
# there, and on the GPU including the copies of both inputs to it and of the
# result back. The page holds them rounded to three digits:

import matplotlib.pyplot as plt

H100_US = {  # n: (CPU, GPU, GPU with the copies), microseconds per product
    2: (5.98, 24.8, 74.4),
    16: (3.88, 23.7, 75.0),
    128: (13.5, 32.7, 128),
    1024: (1910, 79.0, 1270),
    4096: (108_000, 2680, 59_300),
}
sizes = list(H100_US)
cpu_us, gpu_us, copies_us = zip(*H100_US.values(), strict=True)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(sizes, cpu_us, "o-", label="H100 CPU ×16")
ax.loglog(sizes, gpu_us, "s-", label="H100 GPU")
ax.loglog(sizes, copies_us, "^-", label="H100 CPU→GPU→CPU")
build_us = [s * 1e6 for s in build_s.values()]
ax.loglog(list(build_s), build_us, "x--", color="grey", label="CPU ×1")
ax.set(xlabel="n", ylabel="t (µs)")
ax.legend(fontsize="small")
plt.show()

# %%
# .. figure-caption::
#
#    Median time of one n × n float32 matrix product (both axes logarithmic).
#    Solid lines: an NVIDIA H100 machine, on its 16 CPU threads, on the GPU
#    with the data already there, and on the GPU with the copies to it and
#    back. Dashed grey line: one CPU thread of the machine that built this
#    page.
#
# Up to ``n = 128`` the CPU wins: 5.98 µs for a 2 x 2 product against 24.8 µs
# on the GPU, 74.4 µs with the copies. At ``n = 4096`` the GPU is 40 times
# faster, and still faster with the copies: the work grows as ``n**3``, the
# copies only as ``n**2``. Measure on your own machine before you decide.
#
# Takeaways
# ---------
#
# * A tensor is a grid of numbers with a shape, a dtype and a device. Choose
#   the device once and move each tensor there with ``.to(device)``.
# * ``backward()`` adds the derivative of a one-element output to the
#   ``.grad`` of each tensor that requires gradients. It frees what the graph
#   saved, so such a graph runs backward only once.
# * ``torch.from_numpy`` shares memory with the array; ``torch.tensor``
#   copies.
# * A GPU pays off for large work with the data kept on it; for small work
#   the CPU wins.
#
# What the article got wrong
# --------------------------
#
# This page follows §1 "Introduction" and §2 "What PyTorch is" of the
# article; the :doc:`errata page </errata>` lists all its mistakes.
#
# .. _erratum-e47:
#
# Erratum E47: Caffe is no longer developed
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article names TensorFlow, PyTorch and Caffe as today's popular
# frameworks. Caffe has had no release since version 1.0 in April 2017, and
# its successor Caffe2 was merged into PyTorch in 2018. The frameworks in wide
# use today include PyTorch, TensorFlow and JAX. :ref:`All errata <e47>`
#
# .. _erratum-e01:
#
# Erratum E01: Advanced APIs promised, basics delivered
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The introduction promises a tour of PyTorch's advanced APIs for building
# complex models. Every model in the article is one linear layer with two
# inputs and one output, trained on random numbers: it covers the everyday
# basics and nothing more. This tour follows its path, then goes further: the
# later :ref:`tutorials <tutorials>` cover custom autograd functions,
# ``torch.func``, mixed precision, ``torch.compile`` and distributed
# training. :ref:`All errata <e01>`
#
# .. _erratum-e02:
#
# Erratum E02: Gradients of any tensor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says that autograd can compute the gradient of any tensor. An
# integer tensor cannot even ask for one, and after ``backward()`` an
# intermediate result has none stored:

import warnings

try:
    torch.tensor([1, 2, 3]).requires_grad_()
except RuntimeError as err:
    print(f"RuntimeError: {err}")

weight = torch.tensor(2.0, requires_grad=True)
hidden = weight * 3  # an intermediate result, not a leaf
(hidden**2).backward()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(f"hidden.grad = {hidden.grad}, weight.grad = {weight.grad}")
message = str(caught[0].message).split(" is being")[0]
print(f"{caught[0].category.__name__}: {message}")

# %%
# Only floating-point and complex tensors can require gradients, and
# ``backward()`` stores gradients only in the *leaves*, the tensors you
# created. The fix: create what you differentiate as floating-point leaves
# with ``requires_grad=True``, and for an intermediate result call
# ``.retain_grad()`` before ``backward()``. :ref:`All errata <e02>`

hidden = weight * 3
hidden.retain_grad()
(hidden**2).backward()
print(f"with retain_grad(): hidden.grad = {hidden.grad}")

# %%
# Exercises
# ---------
#
# Exercise 1 ★: predict what NumPy and PyTorch share
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict the two lines this prints; then change the code
# so that ``shared`` no longer follows the array.
#
# .. code-block:: python
#
#    ones = np.ones(3)
#    shared = torch.from_numpy(ones)
#    copied = torch.tensor(ones)
#    ones += 1
#    print(shared)
#    print(copied)
#
# .. solution::
#
#    Solution
#
#    ``shared`` sees the change and ``copied`` does not; both keep NumPy's
#    ``float64``, which the printout names. ``.clone()`` makes a tensor with
#    memory of its own.

ones = np.ones(3)
shared = torch.from_numpy(ones)
copied = torch.tensor(ones)
ones += 1
print(shared)
print(copied)
assert shared.tolist() == [2.0, 2.0, 2.0]
assert copied.tolist() == [1.0, 1.0, 1.0]
assert shared.dtype == torch.float64

independent = torch.from_numpy(ones).clone()
ones += 1
assert independent.tolist() == [2.0, 2.0, 2.0]

# %%
# Exercise 2 ★★: which graphs run backward twice?
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# With ``x = torch.tensor([0.0, 1.0], requires_grad=True)``, decide for each
# output whether a second ``backward()`` works, then check: ``(x - 1).sum()``,
# ``(x * 2).sum()`` and ``x.exp().sum()``.
#
# .. solution::
#
#    Solution
#
#    Only the subtraction saved nothing. The product saves its factor 2 (as a
#    tensor), and ``exp`` saves its result, which is its own derivative.

outputs = {
    "(x - 1).sum()": lambda x: (x - 1).sum(),
    "(x * 2).sum()": lambda x: (x * 2).sum(),
    "x.exp().sum()": lambda x: x.exp().sum(),
}
twice = {}
for name, make in outputs.items():
    out = make(torch.tensor([0.0, 1.0], requires_grad=True))
    out.backward()
    try:
        out.backward()
        twice[name] = True
    except RuntimeError:
        twice[name] = False
    print(f"{name}: second backward() works: {twice[name]}")
assert list(twice.values()) == [True, False, False]
