"""
Autograd and a training step
============================

Training a model means repeating one small step: compute a loss, ask autograd for the
gradient of that loss with respect to every parameter, and let the optimizer move the
parameters against it. After this tutorial you will be able to say exactly what
``loss.backward()`` computes and where it stores the result, explain why gradients must be
cleared in every step, write one correct optimisation step, and train a small model over a
``DataLoader`` with :func:`pttour.fit`.
"""

# %%
# Setting up
# ----------
#
# We pick the device once and seed the random number generator, so that every number
# printed on this page is the same on every build.

import torch
from torch import nn

import pttour

device = pttour.pick_device()
torch.manual_seed(0)
print(f"device: {device}")

# %%
# What backward() computes
# ------------------------
#
# We fit the plane ``y = 3*x1 + x2 + 4``. :func:`pttour.linear_data` makes the inputs, of
# shape ``(n, 2)``, and the targets, of shape ``(n, 1)``: exactly the shape that
# ``nn.Linear(2, 1)`` returns. The model has two parameters, ``weight`` of shape ``(1, 2)``
# and ``bias`` of shape ``(1,)``. Before any backward pass their ``.grad`` is ``None``.

X, y = pttour.linear_data(8)
model = nn.Linear(2, 1)
loss_fn = nn.MSELoss()
print(f"inputs {tuple(X.shape)}, targets {tuple(y.shape)}, output {tuple(model(X).shape)}")
for name, param in model.named_parameters():
    print(
        f"{name}: shape {tuple(param.shape)}, requires_grad {param.requires_grad}, grad {param.grad}"
    )

# %%
# The parameters are *leaf* tensors that require gradients: autograd did not compute them
# from anything else, and ``requires_grad`` is on. ``loss.backward()`` walks back through the
# operations that produced the loss and writes into the ``.grad`` of every such leaf the
# derivative of the loss with respect to that leaf. Each ``.grad`` has the shape of its
# parameter: one number per parameter element.
#
# For a linear model and the mean squared error the derivative is known in closed form,
# ``2/n * (output - y)^T X`` for the weight and ``2/n * sum(output - y)`` for the bias, so we
# can check what autograd wrote.

weight_before = model.weight.detach().clone()
output = model(X)
loss = loss_fn(output, y)
loss.backward()

residual = (output - y).detach()
by_hand_weight = 2 / len(X) * residual.T @ X
by_hand_bias = 2 / len(X) * residual.sum(dim=0)
print(f"weight.grad {model.weight.grad}")
print(f"by hand     {by_hand_weight}")
print(f"bias.grad {model.bias.grad}, by hand {by_hand_bias}")
print("autograd matches the formula:", torch.allclose(model.weight.grad, by_hand_weight))

# %%
# ``backward()`` computes gradients and nothing else: the parameters are exactly what they
# were. They change only when the optimizer takes a step. Plain SGD moves each parameter by
# ``-lr * grad``.

print("weight unchanged by backward():", torch.equal(model.weight, weight_before))

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
optimizer.step()
expected = weight_before - 0.1 * model.weight.grad
print("weight changed by step():", not torch.equal(model.weight, weight_before))
print("new weight == old weight - lr * grad:", torch.allclose(model.weight, expected))

# %%
# Gradients accumulate
# --------------------
#
# ``backward()`` *adds* the new gradient to whatever ``.grad`` already holds. This is on
# purpose: it lets you sum the gradients of several losses, or of several small batches
# that together make one large batch, before a single step. The price is that you must
# clear the gradients yourself before each new step. Here we run two backward passes over
# the same loss without clearing.

optimizer.zero_grad()
loss_fn(model(X), y).backward()
once = model.weight.grad.clone()
loss_fn(model(X), y).backward()
print(f"after one backward():  {once}")
print(f"after two backward():  {model.weight.grad}")
print("the second call doubled it:", torch.allclose(model.weight.grad, 2 * once))

# %%
# ``optimizer.zero_grad()`` clears them. By default it sets every ``.grad`` to ``None``
# instead of filling it with zeros, which frees the memory; the next ``backward()`` then
# creates a fresh gradient.

optimizer.zero_grad()
print("after zero_grad():", model.weight.grad)

# %%
# One correct optimisation step
# -----------------------------
#
# A step therefore has four parts, in this order:
#
# 1. ``optimizer.zero_grad()`` clears the old gradients;
# 2. the forward pass and the loss;
# 3. ``loss.backward()`` fills ``param.grad`` with d(loss)/d(param);
# 4. ``optimizer.step()`` changes the parameters.
#
# :func:`pttour.train_step` is these four lines, plus a check that the output and the target
# have the same shape (see :ref:`erratum-e11` below). It returns the loss measured before
# the step, so the loss printed here falls from one step to the next.

for step in range(5):
    loss_value = pttour.train_step(model, X, y, loss_fn, optimizer)
    print(f"step {step}: loss {loss_value:.4f}")

# %%
# A small fit
# -----------
#
# A real training run repeats the step over the batches of a
# ``torch.utils.data.DataLoader``, for several epochs. :func:`pttour.fit` does that: it
# moves each batch to the model's device, calls :func:`pttour.train_step`, and returns a
# :class:`pttour.History` with the mean loss of each epoch. The model goes to the device
# *before* the optimizer is created, so the optimizer holds the parameters that will be
# trained. The loader has its own seeded generator, so the shuffling is the same on every
# run.

from torch.utils.data import DataLoader, TensorDataset

X, y = pttour.linear_data(256)
loader = DataLoader(
    TensorDataset(X, y),
    batch_size=32,
    shuffle=True,
    generator=torch.Generator().manual_seed(0),
)
model = nn.Linear(2, 1).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
history = pttour.fit(model, loader, nn.MSELoss(), optimizer, epochs=30)

weights = [round(w, 3) for w in model.weight.flatten().tolist()]
print(f"epochs: {len(history.epoch_losses)}, final loss: {history.final_loss:.2e}")
print(f"learned weights {weights} (true: [3.0, 1.0])")
print(f"learned bias {model.bias.item():.3f} (true: 4.0)")

# %%
# The loss curve
# --------------
#
# The loss falls by several orders of magnitude, so a logarithmic y-axis shows every epoch;
# on a linear axis the curve would look flat after the first few epochs.

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
epochs = range(1, len(history.epoch_losses) + 1)
ax.plot(epochs, history.epoch_losses, marker="o", markersize=3)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("mean training loss (MSE)")
ax.set_title("Fitting y = 3*x1 + x2 + 4 with SGD")
ax.grid(True, which="both", alpha=0.3)
plt.show()

# %%
# Mixed precision on a GPU
# ------------------------
#
# On a CUDA GPU the forward pass can run in a 16-bit float type to save time and memory.
# ``fit`` and ``train_step`` accept ``autocast_dtype=torch.bfloat16``, which needs no loss
# scaling; with ``torch.float16`` also pass ``scaler=torch.amp.GradScaler("cuda")`` so that
# small gradients do not underflow to zero. The block below runs only on a GPU.

if device.type == "cuda":
    model_amp = nn.Linear(2, 1).to(device)
    optimizer_amp = torch.optim.SGD(model_amp.parameters(), lr=0.1, momentum=0.9)
    history_amp = pttour.fit(
        model_amp, loader, nn.MSELoss(), optimizer_amp, epochs=30, autocast_dtype=torch.bfloat16
    )
    weights_amp = [round(w, 2) for w in model_amp.weight.flatten().tolist()]
    print(f"bfloat16 autocast: final loss {history_amp.final_loss:.1e}, weights {weights_amp}")
else:
    print(f"no CUDA GPU on {device}: mixed-precision example skipped")

# %%
# Errata of this section
# ----------------------
#
# The article's mistakes in this section, each reproduced and fixed below.
#
# .. _erratum-e10:
#
# Erratum E10: What backward() computes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article describes ``backward()`` first as computing the gradient of the model output
# with respect to the input data, and later as the gradient of the loss with respect to the
# model output. Neither is what is stored: after ``loss.backward()`` the input data and the
# output have no gradient at all.

import warnings

model = nn.Linear(2, 1)
X, y = pttour.linear_data(8)
output = model(X)
loss_fn(output, y).backward()
print("input data .grad:", X.grad)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("output .grad:", output.grad)
for warning in caught:
    first_sentence = str(warning.message).split(". ")[0]
    print(f"{warning.category.__name__}: {first_sentence}.")
print("weight .grad:", model.weight.grad)

# %%
# The input data is a leaf that does not require gradients, and the output is not a leaf, so
# autograd stores nothing for either. The gradient it stores is d(loss)/d(param) for each
# parameter, the quantity the optimizer needs.
#
# If you do need the gradient with respect to the inputs, for instance to see which
# features the loss is sensitive to, ask for it: make the inputs require gradients, or call
# ``torch.autograd.grad``, which returns the gradient without storing it anywhere. For an
# intermediate result such as the output, call ``.retain_grad()`` on it before
# ``backward()``.

inputs = X.clone().requires_grad_(True)
(input_grad,) = torch.autograd.grad(loss_fn(model(inputs), y), inputs)
print(f"d(loss)/d(inputs): shape {tuple(input_grad.shape)}, one number per input element")

output = model(X)
output.retain_grad()
loss_fn(output, y).backward()
print(f"d(loss)/d(output): shape {tuple(output.grad.shape)}, kept by retain_grad()")

# %%
# .. _erratum-e11:
#
# Erratum E11: Target shape broadcast by MSELoss
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article builds its targets by scaling and shifting the two input columns, which gives
# a target of shape ``(100, 2)``, while the one-output model returns shape ``(100, 1)``.
# ``MSELoss`` accepts this with only a warning.

inputs = torch.rand(100, 2)
wrong_target = inputs * 3 + 4
model = nn.Linear(2, 1)
prediction = model(inputs)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    loss = nn.MSELoss()(prediction, wrong_target)
for warning in caught:
    print(f"{warning.category.__name__}: {warning.message}")

broadcast_shape = torch.broadcast_shapes(prediction.shape, wrong_target.shape)
by_broadcast = ((prediction.expand(broadcast_shape) - wrong_target) ** 2).mean()
print(f"output {tuple(prediction.shape)} vs target {tuple(wrong_target.shape)}")
print(f"compared as {tuple(broadcast_shape)}: {broadcast_shape.numel()} differences")
print("loss equals the broadcast comparison:", torch.allclose(loss, by_broadcast))

# %%
# Broadcasting copies the single output column next to both target columns, so each
# prediction is compared with two different numbers. Training then fits the mean of the two
# columns, ``1.5*x1 + 1.5*x2 + 4``, which is not the plane the example meant; we train on
# the wrong target (with the shape check switched off) to see it.

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    wrong_loader = DataLoader(TensorDataset(inputs, wrong_target), batch_size=100)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    pttour.fit(model, wrong_loader, nn.MSELoss(), optimizer, epochs=300, check_shapes=False)
learned = [round(w, 2) for w in model.weight.flatten().tolist()]
print(f"{len(caught)} warnings; learned weights {learned}, bias {model.bias.item():.2f}")

# %%
# :func:`pttour.check_same_shape` turns the warning into an error that names both shapes,
# and :func:`pttour.train_step` and :func:`pttour.fit` call it on every batch.

try:
    pttour.check_same_shape(prediction, wrong_target)
except ValueError as err:
    print(f"ValueError: {err}")

# %%
# The fix is one target column per sample, built with a matrix product so that its shape is
# ``(100, 1)``, the output's shape.

right_target = inputs @ torch.tensor([[3.0], [1.0]]) + 4
pttour.check_same_shape(prediction, right_target)
print(f"target {tuple(right_target.shape)} matches output {tuple(prediction.shape)}")

# %%
# .. _erratum-e12:
#
# Erratum E12: Gradients never cleared
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article presents its step as the pattern to repeat in training, but the step never
# clears the gradients. Repeated in a loop, every ``step()`` then uses the sum of all the
# gradients computed so far. Below, the same 30 full-batch steps run once without and once
# with ``optimizer.zero_grad()``.


def run_steps(clear_gradients: bool, steps: int = 30) -> tuple[list[float], nn.Linear]:
    """Full-batch SGD on the plane from zero weights; return the losses and the model."""
    X, y = pttour.linear_data(64)
    model = nn.Linear(2, 1)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(steps):
        if clear_gradients:
            optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(round(loss.item(), 3))
    return losses, model


stale_losses, _ = run_steps(clear_gradients=False)
print("without zero_grad(), last losses:", stale_losses[-5:])

# %%
# The stale gradients act like a momentum that never decays: the parameters overshoot and
# the loss swings up and down instead of falling. Clearing the gradients before each
# ``backward()`` fixes it; :func:`pttour.train_step` does this as its first line.

clean_losses, _ = run_steps(clear_gradients=True)
print("with zero_grad(), last losses:   ", clean_losses[-5:])

# %%
# .. _erratum-e13:
#
# Erratum E13: No device handling
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article promotes PyTorch for its GPU acceleration, yet its examples never choose a
# device. Modules and tensors are created on the CPU unless you ask otherwise, so those
# examples never touch a GPU.

print("a new module lives on:", nn.Linear(2, 1).weight.device)
print("a new tensor lives on:", torch.rand(2).device)

# %%
# Moving only the model is not enough: the model and its inputs must be on the same device.
# On a GPU machine the block below shows the error you get when the data stays on the CPU.
# Every PyTorch build also has the ``meta`` device (tensors with a shape but no data), so
# the same kind of mismatch can be shown on any machine.

if device.type == "cuda":
    try:
        nn.Linear(2, 1).to(device)(torch.rand(3, 2))
    except RuntimeError as err:
        print(f"RuntimeError: {err}")

try:
    nn.Linear(2, 1).to("meta")(torch.rand(3, 2))
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# The fix is to pick the device once, move the model there before creating the optimizer,
# and move every batch there too; :func:`pttour.pick_device` chooses CUDA, then Apple's MPS,
# then the CPU, and :func:`pttour.fit` moves each batch to the model's device.

model = nn.Linear(2, 1).to(device)
batch = torch.rand(3, 2).to(device)
print(f"model on {model.weight.device}, batch on {batch.device}, output on {model(batch).device}")

# %%
# Takeaways
# ---------
#
# - ``loss.backward()`` stores d(loss)/d(param) in the ``.grad`` of every parameter (every
#   leaf tensor that requires gradients). It changes no parameter; ``optimizer.step()``
#   does.
# - Gradients accumulate: call ``optimizer.zero_grad()`` before every ``backward()``.
# - Make the target's shape equal to the output's shape; element-wise losses broadcast
#   silently.
# - Choose the device once and put the model and every batch on it.
# - The library packages these lessons: :func:`pttour.train_step` (one correct step),
#   :func:`pttour.fit` (a loop over a loader, returning a :class:`pttour.History`),
#   :func:`pttour.check_same_shape`, :func:`pttour.linear_data` and
#   :func:`pttour.pick_device`.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_05_gradient_checking.py` checks that the
# gradients autograd computes are right.
