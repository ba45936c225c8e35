"""
What PyTorch is
===============

PyTorch is an open-source Python library for deep learning. It computes with
tensors (n-dimensional arrays) on a CPU or on an accelerator such as a GPU, and
differentiates those computations automatically. After reading this page you
will be able to:

* watch autograd record a computation graph that changes with the data;
* compute gradients with ``backward()``, and know which tensors receive them;
* pick a device with ``torch.accelerator`` and move tensors to it;
* pass data between NumPy and PyTorch, knowing when memory is shared;
* judge when a GPU is faster than a CPU, and when it is not.

**What you need:** PyTorch ≥ 2.6, NumPy and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# The article's introduction
# --------------------------
#
# PyTorch was created at Facebook (now Meta); since 2022 the PyTorch
# Foundation, part of the Linux Foundation, governs it. The article opens with
# a list of popular frameworks.
#
# .. _erratum-e47:
#
# Erratum E47: Caffe is no longer developed
# -----------------------------------------
#
# The article names TensorFlow, PyTorch and Caffe as today's popular
# frameworks. Caffe has had no release since version 1.0 in April 2017, and its
# successor Caffe2 was merged into PyTorch in 2018. The frameworks in wide use
# today include PyTorch, TensorFlow and JAX. :ref:`All errata <e47>`
#
# .. _erratum-e01:
#
# Erratum E01: Advanced APIs promised, basics delivered
# -----------------------------------------------------
#
# The introduction then promises a tour of PyTorch's advanced APIs for building
# complex models. Every model in the article is the same small layer:

import torch
from torch import nn

layer = nn.Linear(2, 1)  # two inputs, one output: the article's only model
print(layer)
print(f"parameters: {sum(p.numel() for p in layer.parameters())}")

# %%
# Three parameters, trained on random numbers: the article covers the everyday
# basics (tensors, autograd, one training step, a data loader, a checkpoint)
# and nothing more. This tour follows its path, then goes further: the later
# :ref:`tutorials <tutorials>` cover models, a classification task, custom
# autograd functions, ``torch.func``, mixed precision, ``torch.compile`` and
# distributed training. :ref:`All errata <e01>`
#
# The graph is built while the code runs
# --------------------------------------
#
# PyTorch records the operations on tensors that require gradients while the
# code runs. The record, a graph of functions, is built anew on every run, so
# Python control flow decides its shape. The function below doubles its input
# until the sum of its absolute values reaches 100: how often depends on the
# values, known only at run time.


def double_until_large(x, limit=100.0):
    steps = 0
    while x.abs().sum() < limit:  # a Python loop driven by a tensor's value
        x = x * 2
        steps += 1
    return x, steps


def recorded_operations(
    output,
):  # the graph's nodes, from the output back to the input
    names, node = [], output.grad_fn
    while node is not None:
        names.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions else None
    return names


for values in ([1.5, -0.5], [60.0, 50.0]):
    x = torch.tensor(values, requires_grad=True)
    y, steps = double_until_large(x)
    loss = y.sum()
    loss.backward()
    print(f"input {values}: doubled {steps} times, gradient {x.grad.tolist()}")
    print(f"  graph: {' <- '.join(recorded_operations(loss))}")

# %%
# Each name is one recorded operation: ``MulBackward0`` a multiplication,
# ``SumBackward0`` the sum, and ``AccumulateGrad`` the step that adds the
# result into ``x.grad``. The first input was doubled six times, so its
# gradient is ``2**6 = 64``; the second was already large, so its graph has no
# multiplication at all.
#
# ``backward()`` frees the values that the graph saved for it. A second
# ``backward()`` through the same graph fails unless the first one passed
# ``retain_graph=True``, and the next forward pass records a new graph.
#
# ``backward()`` needs a one-element output
# -----------------------------------------
#
# ``backward()`` computes the derivative of a one-element output with respect
# to the *leaf* tensors that require gradients: the tensors you created, such
# as a model's parameters. When the output has several elements, "the gradient"
# is not defined until you say how to combine them, and PyTorch refuses to
# guess:

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
squares = x**2  # three outputs, one per element
try:
    squares.backward()
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# Reduce the output first, for example with ``sum()``, or pass a weight for
# each element as ``gradient=`` (``squares.backward(gradient=torch.ones(3))``
# gives the same). A loss with the default ``reduction="mean"`` (or ``"sum"``)
# is already one number; with ``reduction="none"`` it has one value per element
# and needs the same treatment.

squares.sum().backward()
print(f"d(sum of x**2)/dx = {x.grad.tolist()}")

# %%
# .. _erratum-e02:
#
# Erratum E02: Gradients of any tensor
# ------------------------------------
#
# The article says that autograd can compute the gradient of any tensor. An
# integer tensor cannot even ask for one, and after ``backward()`` an
# intermediate result has none stored: reading its ``.grad`` gives ``None`` and
# a warning.

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
print(
    f"{caught[0].category.__name__}: {str(caught[0].message).split('. ')[0]}."
)

# %%
# A derivative needs values that vary continuously, so only floating-point and
# complex tensors can require gradients. To save memory, ``backward()`` stores
# gradients only in the leaves. The fix: create what you differentiate as
# floating-point leaves with ``requires_grad=True`` (parameters already are),
# and for an intermediate result call ``.retain_grad()`` before ``backward()``,
# or ask ``torch.autograd.grad(output, hidden)`` directly. :ref:`All errata
# <e02>`

hidden = weight * 3
hidden.retain_grad()
(hidden**2).backward()
print(f"with retain_grad(): hidden.grad = {hidden.grad}")

# %%
# Devices: choose once, move the data there
# -----------------------------------------
#
# Every tensor lives on one device: the CPU, or an accelerator such as a CUDA
# or ROCm GPU, Apple's MPS or Intel's XPU. An operation needs all its inputs on
# the same device. ``torch.accelerator`` (PyTorch 2.6 and later) tells whether
# this machine has a usable accelerator, and which, so portable code chooses
# the device in one place:

accelerator = torch.accelerator.current_accelerator()
device = (
    accelerator if torch.accelerator.is_available() else torch.device("cpu")
)
print(f"device: {device}")

# %%
# This page was built without a GPU, so it says ``cpu``. ``.to(device)``
# returns a tensor on that device and leaves the original where it was; a
# tensor already there is returned as it is.

features = torch.randn(4, 3)  # created on the CPU
on_device = features.to(device)
print(f"original on {features.device}, copy on {on_device.device}")
print(f"already there, same object: {features.to('cpu') is features}")

batch = {"features": features, "labels": torch.tensor([0, 1, 1, 0])}
batch = {
    name: tensor.to(device) for name, tensor in batch.items()
}  # a whole batch
print({name: str(tensor.device) for name, tensor in batch.items()})

# %%
# On a GPU machine, ``torch.ones(2, device="cuda") + torch.ones(2)`` fails with
# ``RuntimeError: Expected all tensors to be on the same device``. PyTorch does
# not copy between devices behind your back; only a zero-dimensional CPU tensor
# is let through, as if it were a Python number.
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
# NumPy's default float type is ``float64``, PyTorch's is ``float32``, and
# ``from_numpy`` keeps the array's type. ``.numpy()`` works only for a CPU
# tensor that does not require gradients: write ``t.detach().cpu().numpy()``,
# or ``t.numpy(force=True)``, which does both.

print(
    f"from NumPy: {torch.from_numpy(np.array([1.0])).dtype}, torch: {torch.tensor([1.0]).dtype}"
)
trained = torch.ones(2, device=device, requires_grad=True)
print(f"back to NumPy: {trained.numpy(force=True)}")

# %%
# .. _cpu-vs-gpu-timing:
#
# Is the GPU faster? It depends on the size
# -----------------------------------------
#
# A GPU runs thousands of operations in parallel, but each call costs a fixed
# launch time of microseconds, and data in CPU memory must be copied to the GPU
# and back. The figures in the plot below were measured on an NVIDIA H100 80GB
# HBM3 (16 CPU cores) with torch 2.11.0+cu130 and CUDA 13.0, on 2026-11-26,
# with pttour's ``time_matmul``: the median time of one ``n x n`` float32
# matrix product, on the host's 16 CPU threads, on the GPU with the data
# already there, and on the GPU including the copies of both inputs to the GPU
# and of the result back. Up to ``n = 128`` the CPU wins: 6 microseconds for a
# 2 x 2 product against 25 on the GPU, and 74 with the copies. At ``n = 4096``
# the GPU is 40 times faster, and still faster with the copies, because the
# work grows as ``n**3`` while the copies grow only as ``n**2``.
#
# The machine that built this page adds a fourth line, measured with
# ``torch.utils.benchmark`` (it warms up, repeats and, on a GPU, waits for the
# queued work before reading the clock), on one thread, because a build machine
# often does other work at the same time.

import platform

from torch.utils import benchmark

H100 = {  # n: (cpu_s, gpu_s, gpu_with_copies_s), median seconds per product
    2: (5.98099999393753e-06, 2.476800000295043e-05, 7.436599999977034e-05),
    16: (3.881999994348462e-06, 2.3665000000505643e-05, 7.49690000034775e-05),
    128: (
        1.3547000001778997e-05,
        3.272100000373257e-05,
        0.0001278729999967254,
    ),
    1024: (0.001909569999995142, 7.90189999975155e-05, 0.001274442000003262),
    4096: (0.10770395699999824, 0.0026759739999988597, 0.059343617999999765),
}
build_sizes = (2, 16, 128, 512)
build_cpu_s = []
for n in build_sizes:
    a, b = torch.randn(n, n), torch.randn(n, n)
    timer = benchmark.Timer("a @ b", globals={"a": a, "b": b}, num_threads=1)
    build_cpu_s.append(timer.blocked_autorange(min_run_time=0.2).median)
print(
    f"{platform.machine()}, 1 thread:",
    [f"{s * 1e6:.1f} us" for s in build_cpu_s],
)

# %%
# Both axes are logarithmic, so that microseconds and a tenth of a second fit
# in one plot.

import matplotlib.pyplot as plt

cpu_s, gpu_s, copies_s = zip(*H100.values(), strict=True)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(list(H100), cpu_s, "o-", label="H100 host CPU (16 threads)")
ax.loglog(list(H100), gpu_s, "s-", label="H100 GPU, data already there")
ax.loglog(list(H100), copies_s, "^-", label="H100 GPU, with copies")
ax.loglog(
    build_sizes,
    build_cpu_s,
    "x--",
    color="grey",
    label="build machine CPU (1 thread)",
)
ticks = sorted({*H100, *build_sizes})
ax.set_xticks(ticks, [str(n) for n in ticks])
ax.minorticks_off()
ax.set_xlabel("matrix size n (n x n, float32)")
ax.set_ylabel("seconds per product (median)")
ax.set_title("The GPU is not always faster")
ax.legend(fontsize="small")
plt.show()

# %%
# Your machine will give other numbers. The CPU line depends on the processor
# and on ``torch.get_num_threads()``; the GPU lines on the GPU, its driver, the
# CUDA version and the data type: float16 and bfloat16 run much faster than
# float32 on recent GPUs, and float64 can be many times slower on consumer GPUs
# (data-centre GPUs such as the A100 and H100 run it at up to the float32
# rate). Measure before you decide, and when you time GPU code by hand, call
# ``torch.cuda.synchronize()`` before reading the clock: GPU work is queued and
# runs later. The article's claim is :ref:`erratum E09 <erratum-e09>`.
#
# Takeaways
# ---------
#
# * PyTorch records the computation graph while your code runs: Python control
#   flow and the data decide its shape.
# * ``backward()`` differentiates a one-element output with respect to the
#   floating-point leaves that require gradients; reduce a larger output first,
#   or pass ``gradient=``.
# * Choose the device once with ``torch.accelerator``, and move data with
#   ``.to(device)``.
# * ``torch.from_numpy`` shares memory with the array; ``torch.tensor`` copies.
# * A GPU pays off for large work with the data kept on it; for small work the
#   CPU wins.
