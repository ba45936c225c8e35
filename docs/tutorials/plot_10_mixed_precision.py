"""
Mixed precision
===============

Mixed precision runs the expensive parts of a model in a 16-bit floating-point type and
keeps the rest in float32. On a GPU with tensor cores it can make training much faster
and halve the memory that activations take. After this tutorial you will be able to:

* run a model under ``torch.autocast`` and see, layer by layer, which dtype each part ran in,
  with :func:`pttour.autocast_dtypes`;
* explain why the parameters stay float32 and why that matters;
* choose between ``torch.bfloat16`` and ``torch.float16`` with
  :func:`pttour.default_amp_dtype`, and know when a gradient scaler is needed;
* train with :func:`pttour.fit` in mixed precision on any device, with the scaler that
  :func:`pttour.make_grad_scaler` returns;
* tell when mixed precision helps and when it does not.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Setting up
# ----------
#
# We pick the device once. On a CPU, mixed precision uses bfloat16. The parts that need
# a CUDA GPU are explained in the text and run only when one is present, so the page
# runs anywhere.

import torch
from torch import nn

import pttour

device = pttour.pick_device()
torch.manual_seed(0)
print(f"device: {device}")

# %%
# Three floating-point types
# --------------------------
#
# A floating-point number stores an exponent, which sets its range, and a significand,
# which sets its precision. float32 has 8 exponent bits and 24 significant bits. The two
# 16-bit types split their bits differently:
#
# * ``torch.float16`` keeps 11 significant bits but only 5 exponent bits, so its range is
#   small: nothing above 65504, and no normal number below about 6e-5.
# * ``torch.bfloat16`` keeps float32's 8 exponent bits, and so its range, but only 8
#   significant bits: about two or three correct decimal digits.
#
# ``torch.finfo`` gives the numbers. ``eps`` is the gap between 1 and the next number.

for dtype in (torch.float32, torch.float16, torch.bfloat16):
    info = torch.finfo(dtype)
    print(
        f"{dtype!s:15} largest {info.max:.3e}  smallest normal {info.tiny:.3e}  eps {info.eps:.3e}"
    )

# %%
# The difference shows as soon as we convert a few numbers. A very small number, such as
# a small gradient, becomes zero in float16 but survives in bfloat16.
# A number slightly above 1 keeps its last digit in float16 but loses it in bfloat16. A
# large number overflows to ``inf`` in float16.

tiny, close_to_one, large = torch.tensor(1e-8), torch.tensor(1.001), torch.tensor(70000.0)
print(f"1e-8   as float16: {tiny.half().item():.4g}   as bfloat16: {tiny.bfloat16().item():.4g}")
print(f"1e-8 becomes zero in float16: {bool(tiny.half() == 0)}")
print(
    f"1.001  as float16: {close_to_one.half().item():.6g}"
    f"   as bfloat16: {close_to_one.bfloat16().item():.6g}"
)
print(f"70000  as float16: {large.half().item()}   as bfloat16: {large.bfloat16().item()}")

# %%
# So float16 is more precise but has a narrow range; bfloat16 has float32's range but is
# coarse. Mixed precision uses them only where that is safe, as the next sections show.
#
# What autocast changes
# ---------------------
#
# ``torch.autocast(device_type, dtype)`` is a context manager. Inside it, PyTorch chooses a
# dtype for each operation: matrix products (``Linear``, convolutions, ``matmul``) run in
# the 16-bit type, where the hardware is fastest; operations that need the precision,
# such as losses, run in float32; the others run in the dtype of their input. Nothing is
# converted in place: the model's parameters stay float32, and autocast casts a 16-bit
# copy of them for each product.
#
# :func:`pttour.autocast_dtypes` runs one forward pass under autocast and reports the dtype
# of each layer's output.

model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 1)).to(device)
batch = torch.rand(8, 2, device=device)
amp_dtype = pttour.default_amp_dtype(device)
print(f"reduced precision for {device.type}: {amp_dtype}")
for name, dtype in pttour.autocast_dtypes(
    model, batch, device_type=device.type, dtype=amp_dtype
).items():
    print(f"layer {name} ({type(model[int(name)]).__name__}): {dtype}")
print(f"parameter dtypes: {sorted({str(p.dtype) for p in model.parameters()})}")

# %%
# On the CPU every layer here runs in bfloat16: the ``Linear`` layers because they are
# matrix products, ``ReLU`` and ``LayerNorm`` because their input is bfloat16. On a CUDA
# GPU, ``LayerNorm`` (like ``softmax``, ``exp`` or ``log``) is computed in float32 instead.
#
# The same, written by hand. The loss is computed inside the context, like the forward
# pass, and autocast runs it in float32. ``backward()`` runs outside the context and the
# gradients have the dtype of the parameters, float32.

import torch.nn.functional as F

target = torch.rand(8, 1, device=device)
with torch.autocast(device_type=device.type, dtype=amp_dtype):
    output = model(batch)
    loss = F.mse_loss(output, target)
loss.backward()
print(f"output {output.dtype}, loss {loss.dtype}, weight {model[0].weight.dtype}")
print(f"gradient of the first weight: {model[0].weight.grad.dtype}")
print(f"bytes per activation: {output.element_size()} (float32: {target.element_size()})")

# %%
# The last line is the memory saving: the activations that autograd keeps for the
# backward pass take two bytes per number instead of four.
#
# Training in mixed precision
# ---------------------------
#
# :func:`pttour.fit` and :func:`pttour.train_step` take ``autocast_dtype`` and run the
# forward pass and the loss under ``torch.autocast`` on the device of the inputs. We fit the
# plane ``y = 3*x1 + x2 + 4`` twice from the same initial weights, once in float32 and once
# with bfloat16 autocast.

X, y = pttour.linear_data(256)
dataset = pttour.SequenceDataset(X, y)
histories = {}
for label, dtype in (("float32", None), ("bfloat16 autocast", torch.bfloat16)):
    torch.manual_seed(0)
    regression = nn.Linear(2, 1).to(device)
    optimizer = torch.optim.SGD(regression.parameters(), lr=0.1, momentum=0.9)
    loader = pttour.make_loader(dataset, batch_size=32, seed=0)
    history = pttour.fit(
        regression, loader, nn.MSELoss(), optimizer, epochs=30, autocast_dtype=dtype
    )
    histories[label] = history.epoch_losses
    weights = [round(w, 3) for w in regression.weight.flatten().tolist()]
    print(
        f"{label:18} final loss {history.final_loss:.1e}  weights {weights}"
        f"  bias {regression.bias.item():.3f}"
    )

# %%
# Both runs learn the plane, but the bfloat16 run stops improving at a loss near 1e-4.
# With 8 significant bits, an output near 6 is only known to within about 0.02, and the
# squared error cannot go much below the square of that. The float32 run keeps
# improving until float32 itself is the limit. For a real network trained on noisy
# data the loss stays far above either floor, and both curves look the same.

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
for label, losses in histories.items():
    ax.semilogy(range(1, len(losses) + 1), losses, label=label)
ax.set_xlabel("epoch")
ax.set_ylabel("mean training loss (MSE, log scale)")
ax.set_title("Fitting a plane: float32 vs bfloat16 autocast")
ax.legend()
plt.show()

# %%
# Why float16 needs loss scaling
# ------------------------------
#
# Gradients are often tiny: many are below 1e-7 in a deep network. In float16 every
# value below about 6e-8 becomes zero, and values between 6e-8 and 6e-5 keep only a few
# significant bits (1e-6 comes back as 1.01e-6). Gradients that flow back through
# float16 operations would vanish, and the weights before them would stop learning.
#
# The cure is to multiply the loss by a large factor before ``backward()``: by the chain
# rule every gradient is multiplied by the same factor and moves into float16's range.
# The gradients are divided by the factor again, in float32, before the optimizer uses
# them.

gradients = torch.tensor([1e-3, 1e-6, 1e-8, 1e-9])
scale = 2.0**16
print(f"in float16:                 {[f'{g:.3g}' for g in gradients.half().tolist()]}")
recovered = (gradients * scale).half().float() / scale
print(f"scaled, float16, unscaled: {[f'{g:.3g}' for g in recovered.tolist()]}")

# %%
# ``torch.amp.GradScaler`` does this during training. It also protects against the
# opposite problem: if the scaled gradients overflow to ``inf``, it skips that step,
# leaving the weights unchanged, and halves the factor. After 2000 steps without an
# overflow it doubles the factor again, to keep it as large as possible.
#
# To watch it work, we enable one on the CPU with a single weight. (On the CPU you would
# use bfloat16 and no scaler; the scaler is enabled here only for the demonstration.)

scaler = torch.amp.GradScaler("cpu", init_scale=scale)
weight = nn.Parameter(torch.tensor([1.0]))
sgd = torch.optim.SGD([weight], lr=0.1)

sgd.zero_grad()
scaled_loss = scaler.scale((3 * weight).sum())
scaled_loss.backward()
print(f"scaled loss {scaled_loss.item():.0f}, gradient after backward {weight.grad.item():.0f}")
scaler.step(sgd)  # unscales the gradient to 3, then steps
scaler.update()
print(f"gradient used {weight.grad.item():.0f}, weight {weight.item():.2f}")
print(f"scale after the update: {scaler.get_scale():.0f}")

sgd.zero_grad()
scaler.scale((weight * float("inf")).sum()).backward()
scaler.step(sgd)  # the gradient is inf: the step is skipped
scaler.update()
print(f"after an overflow: weight {weight.item():.2f}, scale {scaler.get_scale():.0f}")

# %%
# bfloat16 has float32's range: its gradients underflow no sooner than float32's, so it
# needs no scaler. :func:`pttour.make_grad_scaler` returns one that is enabled only for
# float16 on CUDA. A disabled scaler passes everything through, so one training loop
# serves every choice.

for where, dtype in (("cpu", torch.bfloat16), ("cpu", torch.float32)):
    enabled = pttour.make_grad_scaler(where, dtype).is_enabled()
    print(f"scaler for {dtype} on {where}: enabled={enabled}")

# %%
# On a CUDA GPU
# -------------
#
# On a GPU, :func:`pttour.default_amp_dtype` returns bfloat16 for GPUs that run it natively
# (compute capability 8.0 and later: A100, RTX 30xx, H100 and newer) and float16 for
# older ones (V100, T4, RTX 20xx), whose tensor cores only accelerate float16. With
# float16, create the scaler with ``torch.amp.GradScaler("cuda")`` and follow its order:
# scale the loss and call ``backward()``, let the scaler step the optimizer, then update the
# scale. The block below does this when a GPU is present.

if device.type == "cuda":
    torch.manual_seed(0)
    gpu_model = nn.Linear(2, 1).to(device)
    gpu_optimizer = torch.optim.SGD(gpu_model.parameters(), lr=0.1, momentum=0.9)
    gpu_scaler = torch.amp.GradScaler("cuda")
    for inputs, targets in pttour.make_loader(dataset, batch_size=32, seed=0):
        inputs, targets = inputs.to(device), targets.to(device)
        gpu_optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda", dtype=torch.float16):
            gpu_loss = F.mse_loss(gpu_model(inputs), targets)
        gpu_scaler.scale(gpu_loss).backward()
        gpu_scaler.step(gpu_optimizer)  # unscales; skips the step if a gradient is inf or nan
        gpu_scaler.update()
    print(f"float16 epoch on {device}: last loss {gpu_loss.item():.3f}")
    # The same with the library, in the dtype that suits this GPU:
    gpu_dtype = pttour.default_amp_dtype(device)
    history = pttour.fit(
        gpu_model,
        pttour.make_loader(dataset, batch_size=32, seed=0),
        nn.MSELoss(),
        gpu_optimizer,
        epochs=5,
        autocast_dtype=gpu_dtype,
        scaler=pttour.make_grad_scaler(device, gpu_dtype),
    )
    print(f"{gpu_dtype}: final loss {history.final_loss:.2e}")
else:
    print(f"no CUDA GPU on this machine ({device}): the float16 example was skipped")

# %%
# When mixed precision helps
# --------------------------
#
# * **On recent GPUs, for large models.** Tensor cores multiply 16-bit matrices many times
#   faster than float32 ones, and the activations take half the memory, which allows
#   larger batches. The gain is largest when matrix products dominate the run time.
# * **Less on CPUs.** Processors with bfloat16 instructions (AVX512-BF16 or AMX) speed up
#   large matrix products; processors without them convert back and forth and can be
#   slower than float32.
# * **Not for small models.** For a model like the ones on this page, the time goes into
#   Python, small kernels and the casts that autocast adds, not into arithmetic, so 16
#   bits gain nothing.
#
# Measure on your own hardware before and after, with the same data and enough steps.
#
# Pitfalls, reproduced live
# -------------------------
#
# Pitfall: converting the model instead of using autocast
# ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#
# ``model.half()`` or ``model.bfloat16()`` turns the parameters themselves into 16 bits.
# An optimizer step adds a small update to each weight. Just below 1, bfloat16 numbers are
# about 0.004 apart, so a change smaller than half of that is rounded away.

weight_bf16 = torch.tensor(1.0, dtype=torch.bfloat16)
update = 1e-3
print(f"1.0 - 0.001 in bfloat16 == 1.0: {bool(weight_bf16 - update == weight_bf16)}")
print(f"1.0 - 0.001 in float32  == 1.0: {bool(torch.tensor(1.0) - update == 1.0)}")

# %%
# The same happens to a whole layer. We take one optimizer step with the learning rate
# 0.001 on three copies of the same layer: in float32, in float32 under bfloat16 autocast,
# and converted to bfloat16. Then we count how many weights moved.

import copy

torch.manual_seed(0)
layer = nn.Linear(64, 64).to(device)
layer_inputs = torch.randn(32, 64, device=device)
copies = {
    "float32": (copy.deepcopy(layer), layer_inputs, False),
    "bfloat16 autocast": (copy.deepcopy(layer), layer_inputs, True),
    "bfloat16 weights": (copy.deepcopy(layer).bfloat16(), layer_inputs.bfloat16(), False),
}
for label, (candidate, inputs, use_autocast) in copies.items():
    step_optimizer = torch.optim.SGD(candidate.parameters(), lr=1e-3)
    before = candidate.weight.detach().clone()
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_autocast):
        step_loss = candidate(inputs).float().pow(2).mean()
    step_loss.backward()
    step_optimizer.step()
    moved = (candidate.weight != before).float().mean().item()
    print(f"{label:18} weights that moved in one step: {moved:.1%}")

# %%
# Autocast keeps float32 "master" weights: the updates accumulate in float32, and only
# the copies used in the products are rounded. Keep the model in float32 and let
# ``torch.autocast`` (or ``autocast_dtype=`` in :func:`pttour.fit`) choose per operation.
#
# Pitfall: autocast for a device that is not there
# ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#
# Code copied from a GPU script often hard-codes ``torch.autocast("cuda")``. On a machine
# without a GPU, PyTorch does not fail: it disables autocast and only warns, so the run
# silently happens in float32.

import warnings

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with torch.autocast("cuda", dtype=torch.float16):
        output = model(batch)
for warning in caught:
    print(f"{warning.category.__name__}: {warning.message}")
print(f"output dtype: {output.dtype}")

# %%
# Autocast only touches operations on its own device type. Take the type from the data,
# ``device_type=inputs.device.type``, as :func:`pttour.train_step` does, or from
# ``pttour.pick_device().type``.
#
# Pitfall: float16 on the CPU
# ^^^^^^^^^^^^^^^^^^^^^^^^^^^
#
# Recent PyTorch releases accept ``torch.autocast("cpu", dtype=torch.float16)``. Most CPUs
# have no fast float16 arithmetic, so this is usually slower than float32, and it brings
# float16's narrow range without a scaler. :func:`pttour.autocast_dtypes`,
# :func:`pttour.make_grad_scaler` and the other helpers refuse it and say what to use.

with torch.autocast("cpu", dtype=torch.float16):
    print(f"torch accepts it: output {nn.Linear(2, 1)(torch.rand(4, 2)).dtype}")
try:
    pttour.make_grad_scaler("cpu", torch.float16)
except ValueError as err:
    print(f"{type(err).__name__}: {err}")

# %%
# Takeaways
# ---------
#
# * Mixed precision lowers the precision of selected operations, not of the model: keep
#   the parameters float32 and run the forward pass and the loss under ``torch.autocast``;
#   call ``backward()`` outside it.
# * bfloat16 has float32's range and needs no loss scaling; it is the choice on CPUs and
#   on GPUs from the A100 on.
# * float16 is for older GPUs; it underflows below about 6e-8 and needs
#   ``torch.amp.GradScaler("cuda")``.
# * Take the autocast device type from the data, never a hard-coded ``"cuda"``.
# * Expect speed on GPUs with tensor cores and large matrix products, not for small
#   models on a CPU; measure.
# * :func:`pttour.autocast_dtypes`, :func:`pttour.default_amp_dtype`,
#   :func:`pttour.make_grad_scaler`, :func:`pttour.fit` and :func:`pttour.train_step`
#   package these rules.
