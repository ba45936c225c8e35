"""
Autograd and a training step
============================

Training a model repeats one small step: compute a loss, let autograd find
the gradient of the loss with respect to every parameter by backpropagation,
and let an optimizer move each parameter a little against its gradient, by a
distance set by the learning rate. After reading this page you will be able
to:

* say what ``loss.backward()`` computes and where it puts the result;
* write the four lines of a training step, and say why the first one clears
  the gradients;
* pick a learning rate that makes the loss fall, and train on mini-batches on
  any device.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Data, a model and a loss
# ------------------------
#
# We seed the random number generator, so that every number on this page is
# the same on every run, and make data for the plane ``y = 3*x1 + x2 + 4``: 100
# inputs of shape ``(100, 2)`` and one target per sample, shape ``(100, 1)``.
# The model, ``nn.Linear(2, 1)``, computes ``x @ weight.T + bias``; it is an
# ``nn.Module``, the class of every PyTorch model
# (:ref:`sphx_glr_auto_tutorials_plot_07_modules.py`). A *loss function* says
# how far the outputs are from the targets: here the mean squared error.

import torch
from torch import nn

torch.manual_seed(0)
X = torch.rand(100, 2)
y = X @ torch.tensor([[3.0], [1.0]]) + 4
model = nn.Linear(2, 1)
loss_fn = nn.MSELoss()
output = model(X)
print(f"inputs {tuple(X.shape)}, targets {tuple(y.shape)}")
print(f"output {tuple(output.shape)}, loss {loss_fn(output, y).item():.3f}")

# %%
# The loss compares output and target element by element, so they must have
# the same shape, or it broadcasts them
# (:ref:`sphx_glr_auto_tutorials_plot_04_indexing_broadcasting.py`) and
# compares the wrong elements. :func:`pttour.check_same_shape` is the tested
# version of ``output.shape == y.shape``: a mismatch raises an error that names
# both shapes and a fix.

import textwrap

import pttour

try:
    pttour.check_same_shape(output, y.flatten())  # a target of shape (100,)
except ValueError as err:
    print(textwrap.fill(f"ValueError: {err}", 79, break_on_hyphens=False))

# %%
# Backpropagation: what backward() computes
# -----------------------------------------
#
# The model's parameters, ``weight`` of shape ``(1, 2)`` and ``bias`` of shape
# ``(1,)``, are *leaf* tensors that require gradients: nothing computed them,
# and ``requires_grad`` is on. ``loss.backward()`` runs *backpropagation*, the
# backward pass: it walks back through the operations that produced the loss,
# applies the chain rule at each one, and adds the derivative of the loss with
# respect to each leaf to the leaf's ``.grad``. It changes no parameter. Here
# that derivative has a closed form, ``2/n * residualᵀ X``, to check against:

loss_fn(model(X), y).backward()
residual = (model(X) - y).detach()
by_hand = 2 / len(X) * residual.T @ X
print("weight.grad:", model.weight.grad)
print("by hand:    ", by_hand)
loss_fn(model(X), y).backward()  # a second backward pass
print("doubled:", torch.allclose(model.weight.grad, 2 * by_hand))

# %%
# ``backward()`` *adds* to ``.grad``: the gradients of separate backward
# passes accumulate until something clears them.
#
# The learning rate and one training step
# ---------------------------------------
#
# An *optimizer* changes the parameters using their gradients.
# ``torch.optim.SGD``, gradient descent, moves each parameter against its
# gradient: ``p = p - lr * p.grad``. ``lr`` is the *learning rate*: it sets how
# far one step goes. A training step is four lines, in this order:

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
before = model.weight.detach().clone()
optimizer.zero_grad()  # 1. clear the old gradients
loss = loss_fn(model(X), y)  # 2. forward pass and loss
loss.backward()  # 3. backpropagation: fill every .grad
optimizer.step()  # 4. p = p - lr * p.grad, for every parameter
step = before - 0.1 * model.weight.grad
print("weight == before - lr * grad:", torch.allclose(model.weight, step))
print(f"loss {loss.item():.3f} -> {loss_fn(model(X), y).item():.3f}")

# %%
# :func:`pttour.train_step` is the tested version of those four lines. It also
# checks the shapes, refuses an optimizer that holds none of the model's
# parameters, and returns the loss the step started from.

loss = pttour.train_step(model, X, y, loss_fn, optimizer)
print(f"the next step started from loss {loss:.3f}")

# %%
# Many steps: how the learning rate matters
# -----------------------------------------
#
# One step moves the parameters a little downhill; training repeats it. This
# function repeats the step above on a fresh model, from the same start every
# time, and returns the loss before each step. We try two learning rates:


def train_full_batch(lr: float, steps: int) -> list[float]:
    torch.manual_seed(1)  # the same starting parameters for every call
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


curves = {lr: train_full_batch(lr, 200) for lr in (0.01, 0.1)}
for lr, losses in curves.items():
    after = ", ".join(f"{losses[i - 1]:.1e}" for i in (10, 100, 200))
    print(f"lr={lr}: loss after 10, 100, 200 steps: {after}")

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.2))
for lr, losses in curves.items():
    ax.plot(range(1, len(losses) + 1), losses, label=f"lr={lr}")
ax.set(yscale="log", xlabel="k", ylabel="L")
ax.legend()
plt.show()

# %%
# .. figure-caption::
#
#    The training loss L (mean squared error, log scale) before step k of 200
#    full-batch gradient descent steps, from the same start, with learning
#    rates 0.01 and 0.1.
#
# A step with ``lr=0.1`` goes ten times as far as one with ``lr=0.01``, and
# after 200 steps the loss is over a hundred times lower. Too large a learning
# rate overshoots and the loss grows instead
# (:ref:`sphx_glr_auto_tutorials_plot_06_losses_optimizers.py` measures it).
#
# Mini-batches, epochs and a device
# ---------------------------------
#
# So far every step used all 100 samples: full-batch gradient descent. On real
# data each step uses a small random *mini-batch*, whose gradient is a noisy
# estimate of the full one: *stochastic* gradient descent. One pass over all
# the data is an *epoch*. A ``DataLoader``
# (:ref:`sphx_glr_auto_tutorials_plot_10_datasets.py`) serves ``(X, y)`` in
# batches of 10, in a new order every epoch drawn from its seeded generator.
# We pick the device once, move the model there before creating the
# optimizer, and move every batch.

from torch.utils.data import DataLoader, TensorDataset

device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)
shuffling = torch.Generator().manual_seed(0)
loader = DataLoader(
    TensorDataset(X, y), batch_size=10, shuffle=True, generator=shuffling
)
torch.manual_seed(1)
model = nn.Linear(2, 1).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _epoch in range(30):
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
weight = [round(w, 3) for w in model.weight.flatten().tolist()]
print(f"device {device}: weight {weight}, bias {model.bias.item():.3f}")

# %%
# :func:`pttour.fit` is the tested version of this loop: it moves each batch
# to the model's device, runs :func:`pttour.train_step` on it and returns the
# mean loss of each epoch. From the same start and shuffling it gives exactly
# the same weights.

torch.manual_seed(1)  # the same start
tested = nn.Linear(2, 1).to(device)
optimizer = torch.optim.SGD(tested.parameters(), lr=0.1)
loader.generator.manual_seed(0)
history = pttour.fit(tested, loader, loss_fn, optimizer, epochs=30)
print("same weights:", torch.equal(tested.weight, model.weight))
print(f"mean loss of the last epoch: {history.final_loss:.1e}")

# %%
# Takeaways
# ---------
#
# - ``loss.backward()`` (backpropagation) adds d(loss)/d(param) to each
#   ``.grad``; only ``optimizer.step()`` changes the parameters.
# - A step: ``zero_grad()``, forward pass and loss, ``backward()``, ``step()``.
# - The learning rate sets the size of each step: too small and the loss
#   falls slowly.
# - Give the target the output's shape; a loss broadcasts the two otherwise.
# - Train on shuffled mini-batches for several epochs; pick the device once,
#   move the model before creating the optimizer, and move every batch.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_06_losses_optimizers.py` chooses
# the loss for a task and compares optimizers and learning rates.
#
# What the article got wrong
# --------------------------
#
# This page follows §4.2 "Autograd" of the article; the :doc:`errata page
# </errata>` lists all its mistakes.
#
# .. _erratum-e10:
#
# Erratum E10: What backward() computes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``backward()`` computes the gradient of the output with
# respect to the inputs, then of the loss with respect to the output. Neither
# holds a gradient after ``loss.backward()``:

import warnings

torch.manual_seed(0)
net = nn.Linear(2, 1)
output = net(X)
loss_fn(output, y).backward()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("X.grad:", X.grad, "| output.grad:", output.grad)
message = str(caught[0].message).split(". ")[0]
print(textwrap.fill(f"UserWarning: {message}.", 79))

# %%
# It stores d(loss)/d(param) in each parameter's ``.grad``; for
# d(loss)/d(inputs), call ``torch.autograd.grad(loss, inputs)`` on inputs that
# require gradients (:ref:`all errata <e10>`).
#
# .. _erratum-e11:
#
# Erratum E11: Target shape broadcast by MSELoss
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article's targets have shape ``(100, 2)`` for an output of shape
# ``(100, 1)``. ``MSELoss`` warns, broadcasts and returns a number:

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    loss = loss_fn(net(X), X * 3 + 4)
message = str(caught[0].message).split(". ")[0]
print(textwrap.fill(f"UserWarning: {message}.", 79))
print(f"loss {loss.item():.3f}")

# %%
# Each prediction is compared with both columns. Give each sample one target
# of the output's shape (:ref:`all errata <e11>`).
#
# .. _erratum-e12:
#
# Erratum E12: Gradients never cleared
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article's step, the pattern to repeat, never clears the gradients, so
# in a loop each ``step()`` uses the sum of all the gradients so far. This
# function repeats the calls of a step, in the order given:


def loss_after(order: str, steps: int = 30) -> float:
    torch.manual_seed(1)  # the start of train_full_batch
    net = nn.Linear(2, 1)
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(steps):
        for call in order.split():
            if call == "backward":
                loss_fn(net(X), y).backward()
            else:
                getattr(sgd, call)()  # calls sgd.zero_grad() or sgd.step()
    return loss_fn(net(X), y).item()


for order in ("backward step", "zero_grad backward step"):
    print(f"{order}, 30 times: loss {loss_after(order):.1e}")

# %%
# The old gradients keep pushing and the loss stays high. Call
# ``optimizer.zero_grad()`` in every step, before ``backward()``
# (:ref:`all errata <e12>`).
#
# .. _erratum-e13:
#
# Erratum E13: No device handling
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article advertises GPU acceleration but never chooses a device. Moving
# only the model fails, as the ``meta`` device (in every build) shows:

try:
    nn.Linear(2, 1).to("meta")(torch.rand(3, 2))
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# Pick the device once, move the model, then every batch, as the mini-batch
# loop does (:ref:`all errata <e13>`).
#
# .. _erratum-e44:
#
# Erratum E44: One full-batch step is not stochastic
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article calls its optimizer stochastic gradient descent, but its loss
# covers all the samples: that gradient never changes, a mini-batch's does.

for inputs, targets in [(X, y), (X, y), *list(loader)[:2]]:
    (grad,) = torch.autograd.grad(loss_fn(net(inputs), targets), net.weight)
    print(f"{len(inputs):3d} samples: d(loss)/d(weight) = {grad.squeeze()}")

# %%
# Descent is stochastic when each step uses a random mini-batch, as in the
# loop over the ``DataLoader`` (:ref:`all errata <e44>`).
#
# Exercises
# ---------
#
# Exercise 1 ★: predict an accumulated gradient
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then change the loop so that
# it prints the gradient of a single call, ``tensor(4.)``.
#
# .. code-block:: python
#
#    w = torch.tensor(2.0, requires_grad=True)
#    for _ in range(3):
#        (w * w).backward()
#    print(w.grad)
#
# .. solution::
#
#    Solution
#
#    The derivative of ``w * w`` is ``2 * w = 4``, and each ``backward()`` adds
#    it: 12. Clearing ``w.grad`` before each backward pass leaves 4.

w = torch.tensor(2.0, requires_grad=True)
for _ in range(3):
    (w * w).backward()
print(w.grad)
assert w.grad.item() == 12.0
for _ in range(3):
    w.grad = None
    (w * w).backward()
print(w.grad)
assert w.grad.item() == 4.0

# %%
# Exercise 2 ★★: which training step is wrong?
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Three orders of the same calls are proposed for every step: (a)
# ``zero_grad backward step``, (b) ``backward zero_grad step`` and (c)
# ``backward step zero_grad``. Which of them train? Check with ``loss_after``
# from Erratum E12, for 100 steps.
#
# .. solution::
#
#    Solution
#
#    Order (b) clears the gradients before ``step()`` uses them, so nothing
#    moves; (c) clears them at the end of a step instead of the start, which
#    is just as good.

a = loss_after("zero_grad backward step", steps=100)
b = loss_after("backward zero_grad step", steps=100)
c = loss_after("backward step zero_grad", steps=100)
print(f"loss after 100 steps: (a) {a:.1e}, (b) {b:.1e}, (c) {c:.1e}")
assert a == c < 0.01 < b
