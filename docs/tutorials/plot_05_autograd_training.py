"""
Autograd and a training step
============================

Training a model repeats one small step: compute a loss, ask autograd for the
gradient of the loss with respect to every parameter, and let the optimizer
move the parameters against it. After this tutorial you will be able to say
what ``loss.backward()`` computes and where it puts the result, explain why
gradients must be cleared in every step, and write a training loop over a
``DataLoader`` that runs on any device.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Data, model and loss
# --------------------
#
# We pick the device once, seed the random number generator so that every
# number on this page is the same on every build, and make data for the plane
# ``y = 3*x1 + x2 + 4``: inputs of shape ``(n, 2)`` and one target per sample,
# shape ``(n, 1)``, the shape that ``nn.Linear(2, 1)`` returns.

import torch
from torch import nn

device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)
torch.manual_seed(0)
X = torch.rand(100, 2)
y = X @ torch.tensor([[3.0], [1.0]]) + 4
model = nn.Linear(2, 1)
loss_fn = nn.MSELoss()
print(f"device {device}; inputs {tuple(X.shape)}, targets {tuple(y.shape)}")
print(
    f"output {tuple(model(X).shape)}, loss {loss_fn(model(X), y).item():.3f}"
)

# %%
# .. _erratum-e11:
#
# Erratum E11: Target shape broadcast by MSELoss
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article scales and shifts both input columns to make its targets, which
# gives shape ``(n, 2)`` for a model whose output has shape ``(n, 1)``.
# ``MSELoss`` only warns.

import warnings

wrong_target = X * 3 + 4
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    loss_fn(model(X), wrong_target)
print(f"{caught[0].category.__name__}: {caught[0].message}")

# %%
# The loss broadcasts the single output column against both target columns, so
# every prediction is compared with two different numbers, and the best plane
# for that loss is the mean of the two columns, ``1.5*x1 + 1.5*x2 + 4``. The
# fix is one target per sample, made with a matrix product as above, and a
# shape check before the loss (:ref:`all errata <e11>`).

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for name, w in (
        ("3*x1 + x2 + 4", [[3.0], [1.0]]),
        ("1.5*x1 + 1.5*x2 + 4", [[1.5], [1.5]]),
    ):
        print(
            f"loss of {name}: {loss_fn(X @ torch.tensor(w) + 4, wrong_target).item():.3f}"
        )
assert model(X).shape == y.shape, (
    "the output and the target must have the same shape"
)

# %%
# What backward() computes
# ------------------------
#
# The model's parameters, ``weight`` of shape ``(1, 2)`` and ``bias`` of shape
# ``(1,)``, are *leaf* tensors that require gradients: nothing computed them,
# and ``requires_grad`` is on. ``loss.backward()`` walks back through the
# operations that produced the loss and adds the derivative of the loss with
# respect to each such leaf to its ``.grad`` (creating it if it is ``None``).
# For a linear model and the mean squared error we know that derivative in
# closed form, so we can check what autograd wrote.

print("grad before backward():", model.weight.grad)
loss = loss_fn(model(X), y)
loss.backward()
residual = (model(X) - y).detach()
print(
    f"weight.grad {model.weight.grad}, by hand {2 / len(X) * residual.T @ X}"
)
print(
    f"bias.grad {model.bias.grad}, by hand {2 / len(X) * residual.sum(dim=0)}"
)

# %%
# .. _erratum-e10:
#
# Erratum E10: What backward() computes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``backward()`` computes the gradient of the model's output
# with respect to the input data, and later the gradient of the loss with
# respect to the output. After ``loss.backward()`` neither the inputs nor the
# output hold a gradient:

output = model(X)
loss_fn(output, y).backward()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("inputs .grad:", X.grad, "| output .grad:", output.grad)
print(
    f"{caught[0].category.__name__}: {str(caught[0].message).split('. ')[0]}."
)

# %%
# The inputs are a leaf that does not require gradients and the output is not a
# leaf, so autograd stores nothing for them: it stores d(loss)/d(param), what
# the optimizer needs. To get the gradient with respect to the inputs, ask for
# it with ``torch.autograd.grad``, which returns it without touching any
# ``.grad`` (:ref:`all errata <e10>`).

inputs = X.clone().requires_grad_(True)
(input_grad,) = torch.autograd.grad(loss_fn(model(inputs), y), inputs)
print(f"d(loss)/d(inputs): shape {tuple(input_grad.shape)}")

# %%
# One step, then many
# -------------------
#
# A step is four lines: ``optimizer.zero_grad()``, the forward pass and the
# loss, ``loss.backward()`` and ``optimizer.step()``, which for plain SGD moves
# each parameter by ``-lr * grad``. ``optimizer.zero_grad()`` comes first
# because ``backward()`` *adds* to ``.grad``: the E10 cell above called it a
# second time, so ``weight.grad`` now holds twice the gradient.

optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
print(
    "weight.grad doubled:",
    torch.allclose(model.weight.grad, 4 / len(X) * residual.T @ X),
)
optimizer.zero_grad()
print("after zero_grad():", model.weight.grad)

# %%
# .. _erratum-e45:
#
# Erratum E45: An optimizer does not find the minimum
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says the optimizer makes the loss reach its minimum and finds the
# best parameters. Its example takes one step, with ``lr=0.01``:

before = model.weight.detach().clone()
loss = loss_fn(model(X), y)
loss.backward()
optimizer.step()
print(
    "weight == old - lr * grad:",
    torch.allclose(model.weight, before - 0.01 * model.weight.grad),
)
print(
    f"loss {loss.item():.3f} -> {loss_fn(model(X), y).item():.3f}; its minimum is 0"
)

# %%
# A step moves the parameters a little way downhill, no more. Repeated, the
# loss falls step by step towards a minimum: the global one here, because this
# loss is convex, but at best a local one for a neural network. The fix is to
# say so, and to repeat the step (:ref:`all errata <e45>`):


def full_batch_sgd(steps: int, clear: bool = True) -> list[float]:
    """``steps`` SGD steps on all of X from a fresh model; the loss before each step."""
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(steps):
        if clear:
            optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


losses = full_batch_sgd(101)
print(
    "loss after 1, 10, 100 steps:",
    ", ".join(f"{losses[i]:.1e}" for i in (1, 10, 100)),
)

# %%
# .. _erratum-e12:
#
# Erratum E12: Gradients never cleared
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article offers its step as the pattern to repeat, but never clears the
# gradients. In a loop every ``step()`` then uses the sum of all the gradients
# so far. The stale gradients act like a momentum that never decays: the
# parameters overshoot and the loss swings instead of falling. The fix is
# ``optimizer.zero_grad()`` in every step, before ``backward()`` (:ref:`all
# errata <e12>`).

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(
    full_batch_sgd(30, clear=False),
    marker="o",
    markersize=3,
    label="without zero_grad()",
)
ax.plot(full_batch_sgd(30), marker="o", markersize=3, label="with zero_grad()")
ax.set_yscale("log")
ax.set_ylim(top=3e3)  # room for the legend above the curves
ax.set_xlabel("step")
ax.set_ylabel("training loss (MSE)")
ax.set_title("30 full-batch SGD steps, lr = 0.1")
ax.legend(loc="upper right", ncols=2)
plt.show()

# %%
# A training loop over a DataLoader
# ---------------------------------
#
# Real training repeats the step over the mini-batches of a ``DataLoader``, for
# several epochs, and moves each batch to the model's device. The loader has
# its own seeded generator, so the shuffling is the same on every run.

from torch.utils.data import DataLoader, TensorDataset

loader = DataLoader(
    TensorDataset(X, y),
    batch_size=10,
    shuffle=True,
    generator=torch.Generator().manual_seed(0),
)
model = nn.Linear(2, 1).to(device)
start = {
    k: v.clone() for k, v in model.state_dict().items()
}  # to rerun it below
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for _epoch in range(30):
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
weight = [round(w, 4) for w in model.weight.flatten().tolist()]
print(f"weight {weight}, bias {model.bias.item():.4f} (true: [3, 1] and 4)")

# %%
# .. _erratum-e44:
#
# Erratum E44: One full-batch step is not stochastic
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article calls its optimizer stochastic gradient descent, but computes one
# loss over all the samples at once. That gradient is the same every time; a
# mini-batch's is not:

fresh = nn.Linear(2, 1)
for inputs, targets in [(X, y), (X, y), *list(loader)[:3]]:
    (grad,) = torch.autograd.grad(
        loss_fn(fresh(inputs), targets), fresh.weight
    )
    print(f"{len(inputs):3d} samples: d(loss)/d(weight) = {grad.squeeze()}")

# %%
# ``torch.optim.SGD`` applies ``p -= lr * grad`` to whatever gradient it gets,
# so on the whole data it is plain gradient descent. It becomes stochastic when
# each step uses a random mini-batch, as in the loop above: each batch gives
# another estimate of the full-batch gradient (:ref:`all errata <e44>`).

# %%
# .. _erratum-e13:
#
# Erratum E13: No device handling
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article promotes GPU acceleration but never chooses a device, and modules
# and tensors are created on the CPU unless you ask. Moving only the model
# fails too; every build has the ``meta`` device, which shows the mismatch
# anywhere:

print("a new module lives on:", nn.Linear(2, 1).weight.device)
try:
    nn.Linear(2, 1).to("meta")(torch.rand(3, 2))
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# The loop above is the fix: pick the device once with ``torch.accelerator``,
# move the model there before creating the optimizer, and move every batch
# (:ref:`all errata <e13>`). ``.to()`` moves the parameters in place, so an
# optimizer made earlier still sees them, but the state it already holds (after
# a step or ``load_state_dict``) stays where it was.
#
# The tested version
# ------------------
#
# :func:`pttour.train_step` is the four lines of the step, plus the shape check
# of E11, and :func:`pttour.fit` is the loop: it moves each batch to the
# model's device and returns a :class:`pttour.History` of epoch losses. From
# the same start and the same shuffling it gives exactly the weights of our
# loop.

import pttour

tested = nn.Linear(2, 1).to(device)
tested.load_state_dict(start)
optimizer = torch.optim.SGD(tested.parameters(), lr=0.1, momentum=0.9)
loader.generator.manual_seed(0)
history = pttour.fit(tested, loader, loss_fn, optimizer, epochs=30)
print(
    "same weights as the loop above:", torch.equal(tested.weight, model.weight)
)
print(f"mean loss of the last epoch: {history.epoch_losses[-1]:.2e}")
try:
    pttour.train_step(
        tested, X.to(device), wrong_target.to(device), loss_fn, optimizer
    )
except ValueError as err:
    print(f"ValueError: {err}")

# %%
# Takeaways
# ---------
#
# - ``loss.backward()`` adds d(loss)/d(param) to the ``.grad`` of every leaf
#   that requires gradients; it changes no parameter. ``optimizer.step()``
#   does.
# - Gradients accumulate: call ``optimizer.zero_grad()`` in every step, before
#   ``backward()``.
# - Give the target the output's shape. ``MSELoss`` only warns before it
#   broadcasts, and a hand-written ``((out - y) ** 2).mean()`` broadcasts
#   without a word.
# - An optimizer lowers the loss step by step; mini-batches make SGD
#   stochastic.
# - Pick the device once; move the model before creating the optimizer, and
#   every batch.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_07_modules.py` writes a model as an
# ``nn.Module`` and shows what ``train()``, ``eval()`` and ``torch.no_grad()``
# change.
