"""
Choosing a loss and an optimizer
================================

The previous page trained a model with the mean squared error and plain
gradient descent. Other tasks need other losses, and other optimizers often
train faster. After reading this page you will be able to:

* pick the loss for a task: the mean squared error for numbers, cross-entropy
  for one class out of several, binary cross-entropy for yes/no and
  multi-label targets, and give each the targets it expects;
* say why these losses take logits, not probabilities;
* compare SGD with momentum, Adam and AdamW by measuring, pick a learning
  rate, and change it during training with a scheduler.

**What you need:** PyTorch ≥ 2.6 and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Numbers: the mean squared error
# -------------------------------
#
# When the target is a number, such as a price, the usual loss function is the
# mean squared error, ``nn.MSELoss``: the mean of ``(output - target) ** 2``,
# with output and target of the same shape. Squaring makes large errors count
# heavily; ``nn.L1Loss`` (mean absolute error) and ``nn.HuberLoss`` count them
# less, which helps when the data has outliers.

import torch
from torch import nn

output = torch.tensor([[2.5], [0.0], [1.0]])
target = torch.tensor([[3.0], [-0.5], [1.0]])
print(f"MSELoss: {nn.MSELoss()(output, target).item():.4f}")
print(f"by hand: {((output - target) ** 2).mean().item():.4f}")

# %%
# One class out of several: cross-entropy
# ----------------------------------------
#
# A classifier with ``C`` classes outputs ``C`` numbers per sample, the
# *logits*: any real numbers, larger for a more likely class. Softmax turns
# them into probabilities, ``exp(z_i) / sum_j exp(z_j)``.
# ``nn.CrossEntropyLoss`` takes the logits, shape ``(N, C)``, applies the
# log-softmax itself and averages ``-log p`` of the right class over the
# samples. Its usual target is the class index of each sample: shape ``(N,)``.

logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.2, 3.0]])
labels = torch.tensor([0, 2])
loss_fn = nn.CrossEntropyLoss()
log_p = torch.log_softmax(logits, dim=1)
print(f"CrossEntropyLoss: {loss_fn(logits, labels).item():.4f}")
print(f"by hand:          {-log_p[torch.arange(2), labels].mean().item():.4f}")

# %%
# The target can also give class probabilities: shape ``(N, C)``, rows of
# floats that sum to 1. A one-hot row (1 for the right class, 0 elsewhere)
# gives the same loss as the index. *Label smoothing* moves a little of that 1
# to all classes, so the logits are not pushed ever larger, and *MixUp* blends
# two inputs and their targets alike, e.g. ``0.7 * one_hot(a) + 0.3 *
# one_hot(b)``. ``label_smoothing=0.1`` does the smoothing for you:

one_hot = nn.functional.one_hot(labels, num_classes=3).float()
smoothed = 0.9 * one_hot + 0.1 / 3
print(f"one-hot targets:      {loss_fn(logits, one_hot).item():.4f}")
print(f"smoothed targets:     {loss_fn(logits, smoothed).item():.4f}")
smoothing = nn.CrossEntropyLoss(label_smoothing=0.1)
print(f"label_smoothing=0.1:  {smoothing(logits, labels).item():.4f}")

# %%
# Yes/no and several labels: binary cross-entropy
# ------------------------------------------------
#
# For independent yes/no labels (spam or not; which tags fit a picture) the
# model outputs one logit per label. ``nn.BCEWithLogitsLoss`` applies the
# sigmoid, ``p = 1 / (1 + exp(-z))``, then the binary cross-entropy ``-(t *
# log(p) + (1 - t) * log(1 - p))``, and averages. The target ``t`` holds 1.0
# or 0.0 floats, in the output's shape.

logits = torch.tensor([[1.5, -2.0, 0.3, -0.5], [-1.0, 2.5, 0.0, 3.0]])
tags = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
p = torch.sigmoid(logits)
by_hand = -(tags * p.log() + (1 - tags) * (1 - p).log()).mean()
print(f"BCEWithLogitsLoss: {nn.BCEWithLogitsLoss()(logits, tags).item():.4f}")
print(f"by hand:           {by_hand.item():.4f}")

# %%
# Why logits, not probabilities
# -----------------------------
#
# Both losses apply the softmax or the sigmoid themselves. A softmax applied
# first is applied twice and squeezes the scores into ``[0, 1]``: a badly
# wrong prediction then costs little and its gradient almost vanishes.
# ``nn.BCELoss`` takes probabilities and breaks on large logits: in float32 the
# sigmoid of ``-120`` rounds to 0, ``BCELoss`` clamps ``log(0)`` to ``-100``,
# and the gradient is 0. Below, each case is one badly wrong prediction, and
# ``dL/dz`` the gradient on the logit of the right answer.

three = [[-8.0, 0.0, 0.0]]  # three classes; the right one, 0, scores lowest
one = [-120.0]  # one label; the right answer is yes
right, yes = torch.tensor([0]), torch.tensor([1.0])
cases = [
    ("CrossEntropyLoss", three, lambda z: loss_fn(z, right)),
    ("softmax, then it", three, lambda z: loss_fn(z.softmax(1), right)),
    ("BCEWithLogitsLoss", one, lambda z: nn.BCEWithLogitsLoss()(z, yes)),
    ("sigmoid, BCELoss", one, lambda z: nn.BCELoss()(z.sigmoid(), yes)),
]
for name, values, loss_of in cases:
    z = torch.tensor(values, requires_grad=True)
    loss = loss_of(z)
    loss.backward()
    grad = z.grad.flatten()[0].item() + 0.0  # + 0.0 turns -0.0 into 0.0
    print(f"{name:17s} loss {loss.item():7.3f}, dL/dz {grad:.1e}")

# %%
# Optimizers: SGD, momentum, Adam and AdamW
# -----------------------------------------
#
# ``torch.optim.SGD`` steps by ``-lr * grad``. With ``momentum=0.9`` it keeps
# a velocity, ``v = 0.9 * v + grad``, and steps by ``-lr * v``: it speeds up
# where successive gradients agree, and their zigzags cancel. ``Adam`` divides
# a moving average of each parameter's gradient by the square root of one of
# its square, so every parameter steps by about ``lr``, whatever the scale of
# its gradient. ``AdamW``, Adam with *decoupled weight decay*, also shrinks
# every weight a little at each step; prefer it to ``Adam(weight_decay=...)``.
#
# We measure them on 200 noisy points of ``sin(3x)`` and a small network of
# ``nn.Sequential`` layers and ``nn.Tanh`` activations
# (:ref:`sphx_glr_auto_tutorials_plot_07_modules.py`): 300 full-batch steps
# from the same weights, each optimizer at a usual learning rate for it.

torch.manual_seed(0)
x = torch.linspace(-2, 2, 200).unsqueeze(1)
y = torch.sin(3 * x) + 0.1 * torch.randn_like(x)  # noise of variance 0.01
mse = nn.MSELoss()


def make_model() -> nn.Module:
    torch.manual_seed(1)  # the same starting weights for every run
    layers = [nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(32, 1))


def train(make_optimizer, steps: int = 300) -> list[float]:
    model = make_model()
    optimizer = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = mse(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


optimizers = {
    "SGD lr=0.1": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "SGD μ=0.9 lr=0.05": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
    "Adam lr=0.01": lambda ps: torch.optim.Adam(ps, lr=0.01),
    "AdamW lr=0.01": lambda ps: torch.optim.AdamW(ps, lr=0.01),
}
curves = {name: train(make) for name, make in optimizers.items()}
for name, losses in curves.items():
    after = "  ".join(f"{losses[k - 1]:.4f}" for k in (50, 100, 300))
    print(f"{name:18s} loss after 50, 100, 300 steps: {after}")

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.2))
for name, losses in curves.items():
    ax.plot(range(1, 301), losses, label=name)
ax.set(yscale="log", xlabel="k", ylabel="L")
ax.legend(fontsize="small")
plt.show()

# %%
# .. figure-caption::
#
#    The training loss L (mean squared error, log scale) before step k, for the
#    same model and data trained with SGD, SGD with momentum μ = 0.9, Adam and
#    AdamW at the learning rates in the legend.
#
# Here Adam and AdamW ended lowest, near 0.01, the variance of the noise; SGD
# with momentum came close, and plain SGD, set back by a step that overshot
# (the spike), stayed far above. Another problem or learning rate can change
# the order: compare on your own problem, each optimizer with a tuned rate.
#
# The learning rate: too small, too large
# ---------------------------------------
#
# Plain SGD on the same problem, with three learning rates:

for lr in (0.01, 0.1, 0.3):
    losses = train(lambda ps, lr=lr: torch.optim.SGD(ps, lr=lr))
    after = "  ".join(f"{losses[k - 1]:.3g}" for k in (50, 100, 300))
    highest = max(v for v in losses if v < float("inf"))
    print(f"lr={lr:<4} after 50, 100, 300: {after}; highest {highest:.2g}")

# %%
# With ``lr=0.01`` the loss has barely moved after 300 steps. With ``lr=0.3``
# it falls at first, then the steps overshoot and the loss grows until ``nan``
# (not a number) ends the run. Start from a usual value (0.1 or 0.01 for SGD,
# 0.001 for Adam), try three times larger and smaller, and keep the largest
# that trains smoothly.
#
# Changing the learning rate during training: a scheduler
# -------------------------------------------------------
#
# A large learning rate gets down fast; a small one settles into the bottom.
# A *scheduler* from ``torch.optim.lr_scheduler`` changes the rate as training
# goes: ``CosineAnnealingLR`` lowers it along half a cosine to 0 over ``T_max``
# calls of its ``step()``, ``StepLR`` multiplies it by ``gamma`` every
# ``step_size`` calls. Call ``scheduler.step()`` after ``optimizer.step()``,
# here once per epoch of mini-batches, as on the previous page.

from torch.utils.data import DataLoader, TensorDataset


def train_epochs(lr: float, cosine: bool, epochs: int = 10) -> float:
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    # without cosine, the scheduler is never stepped: the rate stays lr
    seeded = torch.Generator().manual_seed(0)
    loader = DataLoader(
        TensorDataset(x, y), batch_size=10, shuffle=True, generator=seeded
    )
    for epoch in range(1, epochs + 1):
        lr_used = scheduler.get_last_lr()[0]
        for inputs, targets in loader:
            optimizer.zero_grad()
            mse(model(inputs), targets).backward()
            optimizer.step()
        if cosine:
            scheduler.step()  # after the epoch's optimizer steps
            loss = mse(model(x), y).item()
            print(f"epoch {epoch:2d}: lr {lr_used:.4f}, then loss {loss:.4f}")
    return mse(model(x), y).item()


with_cosine = train_epochs(0.03, cosine=True)
constant = train_epochs(0.03, cosine=False)
print(f"final loss: {with_cosine:.4f} with cosine, {constant:.4f} without")

# %%
# Here the schedule lowered the final loss: the small steps of the last epochs
# still improved it. Measure a schedule too: Exercise 3 shows it can hurt.
#
# Takeaways
# ---------
#
# - Numbers: ``nn.MSELoss``. One class of ``C``: ``nn.CrossEntropyLoss``, with
#   class indices ``(N,)`` or probabilities ``(N, C)``. Yes/no labels:
#   ``nn.BCEWithLogitsLoss``, float targets of the output's shape.
# - Give these losses logits: a softmax or sigmoid first slows learning.
# - Compare optimizers by measuring, each at its own learning rate. Too small
#   a rate crawls, too large diverges; a scheduler lowers it as training goes.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_07_modules.py` writes models as
# ``nn.Module`` classes.
#
# What the article got wrong
# --------------------------
#
# This page follows the optimizer step of §4.2 "Autograd" of the article; the
# :doc:`errata page </errata>` lists all its mistakes.
#
# .. _erratum-e45:
#
# Erratum E45: An optimizer does not find the minimum
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says the optimizer makes the loss reach its minimum; its
# example takes one step, with ``lr=0.01``:

first, second = train(lambda ps: torch.optim.SGD(ps, lr=0.01), steps=2)
print(f"one step: loss {first:.3f} -> {second:.3f}")

# %%
# A step moves the parameters a little way downhill. Repeated, it brings the
# loss down towards a minimum, as the curves above show: here near 0.01, the
# noise in the data (:ref:`all errata <e45>`).
#
# Exercises
# ---------
#
# Exercise 1 ★: predict a cross-entropy
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then give the target as
# class probabilities instead of an index, and check that the loss is the
# same.
#
# .. code-block:: python
#
#    logits = torch.zeros(1, 4)
#    print(nn.CrossEntropyLoss()(logits, torch.tensor([3])))
#
# .. solution::
#
#    Solution
#
#    Equal logits give each of the 4 classes probability 1/4, so the loss is
#    ``-log(1/4) = log(4)``, about 1.3863, whichever class is right.

import math

logits = torch.zeros(1, 4)
by_index = nn.CrossEntropyLoss()(logits, torch.tensor([3]))
by_probabilities = nn.CrossEntropyLoss()(
    logits, torch.tensor([[0.0, 0, 0, 1]])
)
print(by_index, by_probabilities)
assert math.isclose(by_index.item(), math.log(4), rel_tol=1e-6)
assert torch.equal(by_index, by_probabilities)

# %%
# Exercise 2 ★★: a loss that never reaches 0
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A multi-label model trained with this loss never gets near 0, even when it
# predicts every tag right. Find the mistake, and show the loss of
# perfect predictions (logits of +20 for a tag that applies, -20 for one that
# does not) before and after your fix.
#
# .. code-block:: python
#
#    loss = nn.BCEWithLogitsLoss()(torch.sigmoid(logits), tags)
#
# .. solution::
#
#    Solution
#
#    ``BCEWithLogitsLoss`` applies the sigmoid itself; after a first one its
#    input lies in ``[0, 1]``, and the sigmoid of that is never near 0 or 1.
#    Pass the logits themselves.

perfect = 40 * tags - 20  # +20 where a tag applies, -20 where it does not
wrong = nn.BCEWithLogitsLoss()(torch.sigmoid(perfect), tags).item()
right = nn.BCEWithLogitsLoss()(perfect, tags).item()
print(f"sigmoid first: {wrong:.4f}; logits: {right:.1e}")
assert wrong > 0.3
assert right < 1e-6

# %%
# Exercise 3 ★★: does the schedule always help?
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Run ``train_epochs`` from ``lr=0.01`` instead of 0.03, with and without the
# cosine schedule. Predict first: will the schedule lower the final loss
# again?
#
# .. solution::
#
#    Solution
#
#    Not here: from 0.01, the loss is still high when the schedule has already
#    shrunk the learning rate, and the last epochs' small steps cannot finish
#    the descent; the constant rate gets much lower.

with_cosine = train_epochs(0.01, cosine=True)
constant = train_epochs(0.01, cosine=False)
print(f"final loss: {with_cosine:.4f} with, {constant:.4f} without")
assert with_cosine > constant
