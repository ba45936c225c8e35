"""
Mixed precision
===============

Mixed precision runs the expensive operations of a model, its matrix products,
in a 16-bit floating-point type and keeps the rest in float32. On a GPU with
tensor cores it can make training much faster, and the activations saved for
the backward pass take half the memory. After this tutorial you will be able to
choose between ``torch.bfloat16`` and ``torch.float16`` from their ranges, run
a forward pass under ``torch.autocast`` and see which dtype each layer ran in,
explain why the parameters stay float32, and train with a gradient scaler where
float16 needs one.

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
        f"{dtype!s:15} max {info.max:.3e}  smallest normal {info.tiny:.3e}  eps {info.eps:.3e}"
    )

# %%
# Below the smallest *normal* number, each type has subnormal numbers, with
# fewer significant bits, down to ``tiny * eps``. A value rounds to zero when
# it is at most half of that smallest subnormal (exactly half is a tie, which
# goes to the even neighbour, zero). We convert that threshold, and a value 1%
# above it, to each type.

for dtype in (torch.float32, torch.float16, torch.bfloat16):
    smallest = torch.finfo(dtype).tiny * torch.finfo(dtype).eps
    half = smallest / 2
    low, high = (
        torch.tensor([half, half * 1.01], dtype=torch.float64)
        .to(dtype)
        .tolist()
    )
    print(f"{dtype!s:15} {half:.3e} -> {low}, {half * 1.01:.3e} -> {high:.3e}")

# %%
# So float16 turns everything at or below ``2**-25``, about ``2.98e-8``, into
# zero, and keeps values below its smallest normal number, ``6.1e-5``, with
# fewer significant bits. bfloat16 has float32's smallest normal number,
# ``1.18e-38``, but its subnormals stop at ``9.2e-41``, where float32's go on
# to ``1.4e-45``: below ``1.18e-38`` bfloat16 underflows sooner than float32.
# Values that small are far below anything that changes a float32 weight of
# ordinary size, so bfloat16 trains without the loss scaling that float16
# needs. Two more numbers show precision and overflow: ``1.001`` keeps its last
# digit in float16 only, and ``70000`` overflows there.

numbers = torch.tensor([1.001, 70000.0])
print(
    f"float16: {numbers.half().tolist()}, bfloat16: {numbers.bfloat16().tolist()}"
)

# %%
# What autocast changes
# ---------------------
#
# ``torch.autocast(device_type, dtype)`` is a context manager. Inside it,
# PyTorch chooses a dtype for each operation: matrix products (``Linear``,
# convolutions, ``matmul``) run in the 16-bit type, where the hardware is
# fastest; operations that need the precision, such as losses, run in float32;
# the others run in the dtype of their input. Nothing is converted in place:
# the parameters stay float32, and autocast casts a 16-bit copy of them for
# each product. It works on a GPU, and on the CPU with bfloat16. We use
# bfloat16, except on CUDA GPUs older than the A100 (compute capability below
# 8.0), which lack fast bfloat16 arithmetic. The loss is computed inside the
# context too; ``backward()`` runs outside it.

import torch.nn.functional as F
from torch import nn

device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)
amp_dtype = torch.bfloat16
if device.type == "cuda" and torch.cuda.get_device_capability(device) < (8, 0):
    amp_dtype = torch.float16
torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(2, 16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 1)
).to(device)
batch, target = (
    torch.rand(8, 2, device=device),
    torch.rand(8, 1, device=device),
)
print(f"device {device}, autocast dtype {amp_dtype}")
with torch.autocast(device_type=device.type, dtype=amp_dtype):
    h = batch
    for layer in model:
        h = layer(h)
        print(f"{type(layer).__name__:9} output {h.dtype}")
    loss = F.mse_loss(h, target)
loss.backward()
print(
    f"loss {loss.dtype}, weights {model[0].weight.dtype}, gradients {model[0].weight.grad.dtype}"
)
print(
    f"bytes per activation: {h.element_size()} (float32: {target.element_size()})"
)

# %%
# On the CPU every layer here runs in bfloat16: the ``Linear`` layers because
# they are matrix products, ``ReLU`` and ``LayerNorm`` because their input is
# bfloat16. On GPUs, ``LayerNorm`` (like ``softmax``, ``exp`` or ``log``) is
# computed in float32 instead. :func:`pttour.autocast_dtypes` reports this for
# any model, layer by layer. Autocast runs the loss in float32, and the
# gradients have the dtype of the parameters, float32. The activations that
# autograd keeps for the backward pass take two bytes per number instead of
# four.
#
# Training in mixed precision
# ---------------------------
#
# A training loop needs two changes: the forward pass and the loss go under
# ``torch.autocast``, and the backward pass and the step go through a
# ``torch.amp.GradScaler``. The scaler is needed for float16 only (see below);
# created with ``enabled=False`` it passes everything through, so one loop
# serves every dtype. We fit the plane ``y = 3*x1 + x2 + 4`` twice from the
# same initial weights, in float32 and with bfloat16 autocast.

from torch.utils.data import DataLoader, TensorDataset

X = torch.rand(256, 2)
dataset = TensorDataset(X, X @ torch.tensor([[3.0], [1.0]]) + 4)


def make_run():  # the same start on every call
    torch.manual_seed(0)
    model = nn.Linear(2, 1).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.5)
    shuffle = torch.Generator().manual_seed(0)
    return (
        model,
        optimizer,
        DataLoader(dataset, batch_size=32, shuffle=True, generator=shuffle),
    )


def train(dtype, epochs=12):  # dtype=None trains in plain float32
    model, optimizer, loader = make_run()
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            with torch.autocast(
                device.type, dtype=dtype, enabled=dtype is not None
            ):
                loss = F.mse_loss(model(inputs), targets)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += loss.item()
        losses.append(total / len(loader))
    return model, losses


histories = {}
for label, dtype in (("float32", None), ("bfloat16 autocast", torch.bfloat16)):
    trained, histories[label] = train(dtype)
    weights = [
        round(w, 3)
        for w in [*trained.weight.flatten().tolist(), trained.bias.item()]
    ]
    print(
        f"{label:18} final loss {histories[label][-1]:.1e}, weights and bias {weights}"
    )

# %%
# Both runs learn the plane, but the bfloat16 run stops improving around a loss
# of ``1e-4``: with 8 significant bits an output near 6 is only known to within
# about 0.02, and the squared error cannot go much below the square of that.
# For a real network on noisy data, the loss stays far above either floor and
# both curves look the same. :func:`pttour.fit` is the tested version of this
# loop: its ``autocast_dtype`` and ``scaler`` arguments go to
# :func:`pttour.train_step`, which runs each step as above, and it ends with
# the same weights.

import matplotlib.pyplot as plt

import pttour

fig, ax = plt.subplots(figsize=(6, 3.5))
for label, losses in histories.items():
    ax.semilogy(range(1, len(losses) + 1), losses, label=label)
ax.set_xlabel("epoch")
ax.set_ylabel("mean training loss (MSE, log scale)")
ax.set_title("Fitting a plane: float32 vs bfloat16 autocast")
ax.legend()
plt.show()

model, optimizer, loader = make_run()
pttour.fit(
    model,
    loader,
    nn.MSELoss(),
    optimizer,
    epochs=12,
    autocast_dtype=torch.bfloat16,
)
print("same weights as the loop:", torch.equal(model.weight, trained.weight))

# %%
# Why float16 needs loss scaling
# ------------------------------
#
# Gradients can be tiny, and float16 turns every value at or below ``2.98e-8``
# into zero: the weights behind such gradients would stop learning. The cure is
# to multiply the loss by a large factor before ``backward()``. By the chain
# rule every gradient is multiplied by the same factor and moves into float16's
# range; the gradients are divided by it again, in float32, before the
# optimizer uses them.

gradients = torch.tensor([1e-3, 1e-6, 1e-8, 1e-9])
scale = 2.0**16
print(
    "in float16:               ",
    [f"{g:.3g}" for g in gradients.half().tolist()],
)
recovered = (gradients * scale).half().float() / scale
print("scaled, float16, unscaled:", [f"{g:.3g}" for g in recovered.tolist()])

# %%
# ``torch.amp.GradScaler`` does this in training. When the scaled gradients
# overflow to ``inf``, it skips the step and halves the factor; after 2000
# steps without an overflow it doubles it. We watch one on the CPU with a
# single weight (on the CPU you would use bfloat16, unscaled).

scaler = torch.amp.GradScaler("cpu", init_scale=scale)
weight = nn.Parameter(torch.tensor([1.0]))
sgd = torch.optim.SGD([weight], lr=0.1)
for factor in (3.0, float("inf")):
    sgd.zero_grad()
    scaler.scale(factor * weight.sum()).backward()
    print(f"gradient after backward: {weight.grad.item():.0f}", end="; ")
    scaler.step(
        sgd
    )  # unscales the gradient; skips the step if it holds inf or nan
    scaler.update()
    print(f"weight {weight.item():.2f}, next scale {scaler.get_scale():.0f}")

# %%
# On a CUDA GPU
# -------------
#
# On a GPU, the forward pass in 16 bits saves time and memory: tensor cores
# multiply 16-bit matrices many times faster than float32 ones. float16 also
# works on GPUs older than the A100, with ``torch.amp.GradScaler("cuda")``,
# which ``train`` above enables for float16; pass
# ``autocast_dtype=torch.float16`` and such a scaler to :func:`pttour.fit` or
# :func:`pttour.train_step`. :func:`pttour.default_amp_dtype` and
# :func:`pttour.make_grad_scaler` are the tested versions of our choice of
# dtype and scaler. This block runs on a CUDA GPU only.

if device.type == "cuda":
    trained, losses = train(torch.float16)
    print(
        f"float16 with a scaler on {torch.cuda.get_device_name(device)}: loss {losses[-1]:.1e}"
    )
else:
    print(f"no CUDA GPU here ({device}): the float16 run was skipped")

# %%
# When mixed precision helps
# --------------------------
#
# - **On recent GPUs, for large models**: the gain is largest when matrix
#   products dominate the run time, and the halved activations allow larger
#   batches.
# - **Less on CPUs**: processors with bfloat16 instructions (AVX512-BF16 or
#   AMX) speed up large matrix products; others convert back and forth and can
#   be slower than float32. Most CPUs have no fast float16 arithmetic at all.
# - **Not for small models** like the ones on this page: the time goes into
#   Python, small kernels and the casts that autocast adds. Measure before and
#   after, on your own hardware.
#
# Pitfalls reproduced live
# ------------------------
#
# Converting the model instead of using autocast
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# ``model.half()`` or ``model.bfloat16()`` turns the parameters themselves into
# 16 bits. With 8 significant bits, neighbouring bfloat16 numbers are 1/256 to
# 1/128 of their size apart, and an update smaller than half that gap is
# rounded away. We take one step with the learning rate 0.001 on three copies
# of a layer, and count the weights that moved.

import copy

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
for label, (candidate, batch_in, use_autocast) in copies.items():
    before = candidate.weight.detach().clone()
    with torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=use_autocast
    ):
        candidate(batch_in).float().pow(2).mean().backward()
    torch.optim.SGD(candidate.parameters(), lr=1e-3).step()
    moved = (candidate.weight != before).float().mean().item()
    print(f"{label:18} weights that moved in one step: {moved:.1%}")

# %%
# Autocast keeps float32 "master" weights: the updates accumulate in float32,
# and only the copies used in the products are rounded. Keep the model in
# float32 and let ``torch.autocast`` choose per operation.
#
# Autocast for the wrong device type
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Code copied from a GPU script often hard-codes ``torch.autocast("cuda")``.
# Autocast only touches operations on its own device type, so a model on the
# CPU runs in float32 under it, without an error. On a machine without a GPU,
# PyTorch also warns that it disables autocast.

import warnings

cpu_model = nn.Linear(2, 1)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with torch.autocast("cuda", dtype=torch.float16):
        output = cpu_model(torch.rand(4, 2))
for warning in caught:
    print(f"{warning.category.__name__}: {warning.message}")
print(f"output dtype: {output.dtype}")

# %%
# Take the device type from the data, ``device_type=inputs.device.type``, as
# :func:`pttour.train_step` does.
#
# Takeaways
# ---------
#
# - float16 rounds everything at or below ``2.98e-8`` to zero and needs a
#   ``torch.amp.GradScaler``; bfloat16 has float32's normal range and trains
#   without one.
# - Keep the parameters float32, run the forward pass and the loss under
#   ``torch.autocast`` with the device type of the data, and call
#   ``backward()`` outside it.
# - Expect speed on GPUs with tensor cores and large matrix products, not for
#   small models on a CPU; measure.
