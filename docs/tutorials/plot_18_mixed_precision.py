"""
Mixed precision
===============

Mixed precision runs the expensive operations of a model, its matrix products,
in a 16-bit floating-point type and keeps the rest in float32. On a GPU with
tensor cores it can make training much faster, and the activations saved for
the backward pass take half the memory.

After reading this page you will be able to:

* choose between ``torch.bfloat16`` and ``torch.float16`` from their ranges;
* run a forward pass under ``torch.autocast`` and see which dtype each layer
  ran in;
* explain why the parameters stay float32;
* train with a gradient scaler where float16 needs one.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Three floating-point types
# --------------------------
#
# A floating-point number stores an exponent, which sets its range, and a
# significand, which sets its precision. float32 has 8 exponent bits and 24
# significant bits; ``torch.float16`` has 5 and 11, a small range;
# ``torch.bfloat16`` has float32's 8 exponent bits but 8 significant bits, two
# or three decimal digits. ``torch.finfo`` gives the numbers (``eps`` is the
# gap between 1 and the next number).

import torch

for dtype in (torch.float32, torch.float16, torch.bfloat16):
    info = torch.finfo(dtype)
    print(
        f"{dtype!s:15} max {info.max:.3e}  "
        f"smallest normal {info.tiny:.3e}  eps {info.eps:.3e}"
    )

# %%
# Below the smallest *normal* number, each type has subnormal numbers, with
# fewer significant bits, down to ``tiny * eps``. A value rounds to zero when
# it is at most half of that smallest subnormal (exactly half is a tie, which
# goes to the even neighbour, zero). We convert that threshold, and a value 1%
# above it, to each type; then two numbers that show precision and overflow.

for dtype in (torch.float32, torch.float16, torch.bfloat16):
    smallest = torch.finfo(dtype).tiny * torch.finfo(dtype).eps
    half = smallest / 2
    values = torch.tensor([half, half * 1.01], dtype=torch.float64)
    low, high = values.to(dtype).tolist()
    print(f"{dtype!s:15} {half:.3e} -> {low}, {half * 1.01:.3e} -> {high:.3e}")
numbers = torch.tensor([1.001, 70000.0])
half, brain = numbers.half().tolist(), numbers.bfloat16().tolist()
print(f"float16: {half}, bfloat16: {brain}")

# %%
# So float16 turns everything at or below ``2**-25``, about ``2.98e-8``, into
# zero. bfloat16 keeps float32's smallest normal number, ``1.18e-38``, though
# its subnormals stop at ``9.2e-41`` (float32's at ``1.4e-45``): far below
# anything that changes a float32 weight of ordinary size, so bfloat16 trains
# without the loss scaling that float16 needs. ``1.001`` keeps its last digit
# in float16 only, and ``70000`` overflows there.
#
# What autocast changes
# ---------------------
#
# Inside the context manager ``torch.autocast(device_type, dtype)``, matrix
# products (``Linear``, convolutions, ``matmul``) run in the 16-bit type, where
# the hardware is fastest; operations that need the precision, such as losses,
# run in float32; the others in the dtype of their input. The parameters stay
# float32: autocast casts a 16-bit copy of them for each product. This page
# uses a CUDA GPU if there is one, and bfloat16, except on CUDA GPUs older than
# the A100 (compute capability below 8.0). The loss is computed inside the
# context too; ``backward()`` runs outside it.

import torch.nn.functional as F
from torch import nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
amp_dtype = torch.bfloat16
if device.type == "cuda" and torch.cuda.get_device_capability(device) < (8, 0):
    amp_dtype = torch.float16
torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(2, 16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 1)
).to(device)
batch = torch.rand(8, 2, device=device)
target = torch.rand(8, 1, device=device)
print(f"device {device.type}, autocast dtype {amp_dtype}")
ran_in = []
with torch.autocast(device_type=device.type, dtype=amp_dtype):
    h = batch
    for layer in model:
        h = layer(h)
        ran_in.append(h.dtype)
        print(f"{type(layer).__name__:9} output {h.dtype}")
    loss = F.mse_loss(h, target)
loss.backward()
w = model[0].weight
print(f"loss {loss.dtype}, weights {w.dtype}, gradients {w.grad.dtype}")
print(f"bytes per activation: {h.element_size()} (float32: 4)")

# %%
# On the CPU every layer here runs in bfloat16: ``Linear`` as a matrix
# product, ``ReLU`` and ``LayerNorm`` because their input is bfloat16 (on GPUs
# ``LayerNorm``, like ``softmax`` or ``log``, runs in float32). The loss is
# float32, the gradients have the parameters' dtype, and the saved activations
# take two bytes per number instead of four. :func:`pttour.autocast_dtypes` is
# the tested version of this loop, for any model, and
# :func:`pttour.default_amp_dtype` of our choice of dtype. Autocast on the CPU
# accepts float16 too, but most processors have no fast float16 arithmetic.

import pttour

tested = pttour.autocast_dtypes(
    model, batch, device_type=device.type, dtype=amp_dtype
)
print("same dtypes as pttour:", list(tested.values()) == ran_in)
print("same choice as pttour:", pttour.default_amp_dtype(device) == amp_dtype)
with torch.autocast("cpu", dtype=torch.float16):
    output = nn.Linear(2, 1)(torch.rand(8, 2))
print(f"CPU autocast to float16: output {output.dtype}")

# %%
# Training in mixed precision
# ---------------------------
#
# A training loop needs two changes: the forward pass and the loss go under
# ``torch.autocast``, and the backward pass and the step through a
# ``torch.amp.GradScaler``, needed for float16 only (see below); with
# ``enabled=False`` it passes everything through. We fit the plane ``y = 3*x1
# + x2 + 4`` from the same initial weights in float32 and with bfloat16.

from torch.utils.data import DataLoader, TensorDataset

X = torch.rand(256, 2, generator=torch.Generator().manual_seed(0))
dataset = TensorDataset(X, X @ torch.tensor([[3.0], [1.0]]) + 4)


def train(dtype, epochs=12):  # dtype=None trains in plain float32
    torch.manual_seed(0)  # the same start for every dtype
    model = nn.Linear(2, 1).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.5)
    gen = torch.Generator().manual_seed(0)
    loader = DataLoader(dataset, batch_size=32, shuffle=True, generator=gen)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            with torch.autocast(device.type, dtype, enabled=dtype is not None):
                loss = F.mse_loss(model(inputs), targets)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += loss.item()
        losses.append(total / len(loader))
    return model, losses


histories = {}
for label, dtype in (("float32", None), ("bfloat16", torch.bfloat16)):
    trained, histories[label] = train(dtype)
    weights = [*trained.weight.flatten().tolist(), trained.bias.item()]
    final, rounded = histories[label][-1], [round(w, 3) for w in weights]
    print(f"{label:9} final loss {final:.1e}, weights {rounded}")

# between neighbouring bfloat16 numbers from 4 to 8, where the targets lie
gap = torch.finfo(torch.bfloat16).eps * 4
floor = (gap / 2) ** 2
print(f"bfloat16 gap near 6: {gap}, (gap / 2)**2 = {floor:.1e}")
assert 0.1 < histories["bfloat16"][-1] / floor < 10  # the same order

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
for label, losses in histories.items():
    ax.semilogy(range(1, len(losses) + 1), losses, label=label)
ax.set_ylabel("MSE")
ax.legend()
plt.show()

# %%
# .. figure-caption::
#
#    The mean training loss (MSE, log scale) of each epoch, 1 to 12, in
#    float32 and with bfloat16 autocast, from the same initial weights.
#
# The bfloat16 loss levels off: its outputs lie between 4 and 8, where
# neighbouring bfloat16 numbers are ``gap = 1/32`` apart, so the squared error
# cannot go far below ``(gap / 2)**2``, the order of the final loss printed
# above. On real, noisy data the loss stays far above either floor.
#
# Why float16 needs loss scaling
# ------------------------------
#
# float16 turns tiny gradients into zero, and their weights stop learning. The
# cure: multiply the loss by a large factor before ``backward()``. By the chain
# rule every gradient is multiplied by it too, into float16's range, and is
# divided again, in float32, before the optimizer uses it.

gradients = torch.tensor([1e-3, 1e-6, 1e-8, 1e-9])
scale = 2.0**16
direct = [f"{g:.3g}" for g in gradients.half().tolist()]
print("in float16:               ", direct)
recovered = (gradients * scale).half().float() / scale
print("scaled, float16, unscaled:", [f"{g:.3g}" for g in recovered.tolist()])

# %%
# ``torch.amp.GradScaler`` does this in training. When the scaled gradients
# overflow to ``inf``, it skips the step and halves the factor; after 2000
# steps without one it doubles it. We watch one on the CPU with a single
# weight. :func:`pttour.make_grad_scaler` is the tested version of the scaler
# that ``train`` creates, and refuses combinations that would do nothing.

scaler = torch.amp.GradScaler("cpu", init_scale=scale)
weight = nn.Parameter(torch.tensor([1.0]))
sgd = torch.optim.SGD([weight], lr=0.1)
for factor in (3.0, float("inf")):
    sgd.zero_grad()
    scaler.scale(factor * weight.sum()).backward()
    print(f"gradient after backward: {weight.grad.item():.0f}", end="; ")
    # step unscales the gradient, and skips if it holds inf or nan
    scaler.step(sgd)
    scaler.update()
    print(f"weight {weight.item():.2f}, next scale {scaler.get_scale():.0f}")
# the tested version of the scaler that train creates
ours = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
tested = pttour.make_grad_scaler(device, amp_dtype)
print("same scaler as pttour:", tested.is_enabled() == ours.is_enabled())

# %%
# On a CUDA GPU
# -------------
#
# On a CUDA GPU, this section trains the plane with float16 autocast and the
# scaler that ``train`` enables for it, as older GPUs need, and prints the
# GPU's name and the final loss. Without a CUDA GPU it prints one line.

if device.type == "cuda":
    trained, losses = train(torch.float16)
    name = torch.cuda.get_device_name(device)
    print(f"float16 with a scaler on {name}: final loss {losses[-1]:.1e}")
else:
    print("no CUDA GPU here: this section runs only on a GPU")

# %%
# Mixed precision pays off **on recent GPUs, for large models**: tensor cores
# multiply 16-bit matrices many times faster than float32 ones. On CPUs only
# those with bfloat16 instructions (AVX512-BF16, AMX) gain, and **small
# models** like these gain nothing. Measure, on your own hardware.
#
# Takeaways
# ---------
#
# - float16 needs a ``torch.amp.GradScaler``; bfloat16 trains without one.
# - Keep the parameters float32; run the forward pass and the loss under
#   ``torch.autocast``, and ``backward()`` outside it.
# - Expect speed from large matrix products on recent GPUs; measure.
#
# Exercises
# ---------
#
# Exercise 1 ★: predict a sum in bfloat16
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then replace 256 by 128.
#
# .. code-block:: python
#
#    big = torch.tensor(256.0, dtype=torch.bfloat16)
#    print(big + 1)
#
# .. solution::
#
#    Solution
#
#    With 8 significant bits, the bfloat16 numbers from 256 to 512 are 2
#    apart: 257 lies halfway between 256 and 258, and the tie goes to the
#    even significand, 256. From 128 to 256 they are 1 apart, and 129 is
#    exact.

big = torch.tensor(256.0, dtype=torch.bfloat16)
print(big + 1, big / 2 + 1)
assert (big + 1).item() == 256
assert (big / 2 + 1).item() == 129

# %%
# Exercise 2 ★★: convert the model instead of using autocast
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# ``model.bfloat16()`` turns the parameters themselves into 16 bits. Take one
# SGD step with the learning rate 0.001 on three copies of
# ``nn.Linear(64, 64)``: in float32, under bfloat16 autocast, and converted
# with ``.bfloat16()``. Count the weights that moved.
#
# .. solution::
#
#    Solution
#
#    Neighbouring bfloat16 numbers are 1/256 to 1/128 of their size apart, and
#    an update smaller than half that gap is rounded away: most of the
#    converted weights do not move. Autocast keeps float32 "master" weights,
#    where the updates accumulate; only the copies used in the products are
#    rounded.

import copy

torch.manual_seed(0)
layer = nn.Linear(64, 64).to(device)
inputs = torch.randn(32, 64, device=device)
copies = {
    "float32": (copy.deepcopy(layer), inputs, False),
    "bfloat16 autocast": (copy.deepcopy(layer), inputs, True),
    "bfloat16 weights": (
        copy.deepcopy(layer).bfloat16(),
        inputs.bfloat16(),
        False,
    ),
}
moved = {}
for label, (candidate, batch_in, use_autocast) in copies.items():
    before = candidate.weight.detach().clone()
    with torch.autocast(device.type, torch.bfloat16, enabled=use_autocast):
        candidate(batch_in).float().pow(2).mean().backward()
    torch.optim.SGD(candidate.parameters(), lr=1e-3).step()
    moved[label] = (candidate.weight != before).float().mean().item()
    print(f"{label:18} weights that moved in one step: {moved[label]:.1%}")
assert moved["float32"] > 0.9
assert moved["bfloat16 autocast"] > 0.9
assert moved["bfloat16 weights"] < 0.1

# %%
# Exercise 3 ★★: autocast for the wrong device type
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Code copied from a GPU script often hard-codes ``torch.autocast("cuda")``.
# Predict the dtype of ``output`` for a model on the CPU; then fix the code so
# that it works on any device.
#
# .. code-block:: python
#
#    cpu_model = nn.Linear(2, 1)
#    with torch.autocast("cuda", dtype=torch.bfloat16):
#        output = cpu_model(torch.rand(4, 2))
#    print(output.dtype)
#
# .. solution::
#
#    Solution
#
#    Autocast only touches operations on its own device type, so the model
#    runs in float32, without an error. (On a machine without a CUDA GPU,
#    PyTorch also warns that it disables autocast; the solution silences that
#    warning.) Take the device type from the data, as
#    :func:`pttour.train_step` does.

import warnings

cpu_model = nn.Linear(2, 1)
inputs = torch.rand(4, 2)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "CUDA is not available", without a GPU
    with torch.autocast("cuda", dtype=torch.bfloat16):
        output = cpu_model(inputs)
with torch.autocast(device_type=inputs.device.type, dtype=torch.bfloat16):
    fixed = cpu_model(inputs)
print(f"autocast('cuda'): {output.dtype}; from the data: {fixed.dtype}")
assert output.dtype == torch.float32
assert fixed.dtype == torch.bfloat16
