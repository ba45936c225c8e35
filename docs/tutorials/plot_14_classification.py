"""
A classification task, end to end
=================================

Most real tasks are classification: given an input, say which of a few
classes it belongs to. This page trains a small network on a problem no
straight line can solve, checks it on data it never trained on, saves it, and
predicts with the saved copy. After reading it you will be able to:

* split a data set into training and validation sets with a seeded generator;
* write a classifier as a subclass of ``nn.Module`` that returns logits;
* train it with ``nn.CrossEntropyLoss``, with class indices or class
  probabilities as targets;
* measure the validation loss and accuracy after every epoch;
* save a checkpoint and predict with a freshly built model loaded from it.

**What you need:** PyTorch ≥ 2.6 and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# The data: three spirals
# -----------------------
#
# Each sample is a point in the plane, and its label says which of three spiral
# arms it lies on. A seeded ``torch.Generator`` makes the same points on every
# run; the next page trains on real images.

import torch

num_classes, per_class = 3, 300
radius = torch.linspace(0.05, 1.0, per_class).repeat(num_classes)
labels = torch.arange(num_classes).repeat_interleave(per_class)
angle = 4.0 * radius + labels * (2 * torch.pi / num_classes)
data_generator = torch.Generator().manual_seed(0)
noise = torch.randn(len(labels), generator=data_generator)
angle += 0.5 * noise  # the arms overlap a little
points = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
print(f"points {tuple(points.shape)} {points.dtype}")
print(f"labels {tuple(labels.shape)} {labels.dtype}: {labels[::300].tolist()}")

# %%
# Training and validation sets
# ----------------------------
#
# A model is judged on samples it never trained on, the *validation set*;
# otherwise a model that memorised its training samples would look perfect.
# ``random_split`` draws the split, the same on every run with its own seeded
# generator.

from torch.utils.data import DataLoader, TensorDataset, random_split

dataset = TensorDataset(points, labels)
split_generator = torch.Generator().manual_seed(1)
train_set, val_set = random_split(dataset, [0.8, 0.2], split_generator)
print(f"training samples: {len(train_set)}, validation: {len(val_set)}")
shuffle_generator = torch.Generator().manual_seed(2)
train_loader = DataLoader(
    train_set, batch_size=64, shuffle=True, generator=shuffle_generator
)
val_loader = DataLoader(val_set, batch_size=256)  # no need to shuffle

# %%
# The model: an ``nn.Module`` subclass
# ------------------------------------
#
# ``__init__`` creates the layers as attributes, which registers their
# parameters; ``forward`` says how an input flows through them. The last layer
# returns one raw score per class, the *logits*, with no softmax. In training
# only, dropout zeroes each hidden value with probability 0.1.

from torch import nn


class SpiralClassifier(nn.Module):
    def __init__(self, hidden: int = 64, num_classes: int = 3) -> None:
        super().__init__()
        self.hidden1 = nn.Linear(2, hidden)
        self.hidden2 = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(p=0.1)
        self.output = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.hidden1(x))
        x = self.dropout(torch.relu(self.hidden2(x)))
        return self.output(x)  # logits, shape (batch, num_classes)


if torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")
torch.manual_seed(0)  # the initial weights and the dropout masks
model = SpiralClassifier().to(device)
print(f"parameters: {sum(p.numel() for p in model.parameters())}")

# %%
# The loss: targets as indices or as probabilities
# ------------------------------------------------
#
# ``nn.CrossEntropyLoss`` applies ``log_softmax`` to the logits itself, in a
# numerically safe way, and takes the targets in one of two forms. *Class
# indices*, ``int64`` of shape ``(batch,)``, like our labels; or *class
# probabilities*, floats of shape ``(batch, classes)`` whose rows sum to 1. A
# one-hot row is a probability target that puts everything on one class, so
# it gives the same loss as its index:

loss_fn = nn.CrossEntropyLoss()
logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
indices = torch.tensor([0, 2])
one_hot = nn.functional.one_hot(indices, num_classes).float()
print(f"one-hot targets:\n{one_hot}")
by_index, by_one_hot = loss_fn(logits, indices), loss_fn(logits, one_hot)
print(f"indices {by_index:.4f}, one-hot {by_one_hot:.4f}")

# %%
# Probabilities allow softer targets: *label smoothing* moves a little weight
# from the true class to the others, so that the model is not pushed to be
# certain; *MixUp* trains on blends of two samples, with the same blend of
# their labels as target. ``label_smoothing=0.1`` equals smoothed targets:

smoothed = one_hot * 0.9 + 0.1 / num_classes
by_option = nn.CrossEntropyLoss(label_smoothing=0.1)(logits, indices)
by_probs = loss_fn(logits, smoothed)
print(f"label_smoothing=0.1 {by_option:.4f}, probabilities {by_probs:.4f}")

# %%
# The training and validation loops
# ---------------------------------
#
# ``model.train()`` switches the dropout on; the step is the one of the earlier
# pages. ``evaluate`` runs the validation set with ``model.eval()``, which
# switches the dropout off, under ``torch.inference_mode()``, which records no
# graph. Each batch's mean loss is weighed by the batch size, so that the
# smaller last batch counts as much as its samples. The predicted class is the
# index of the largest logit, ``argmax(dim=1)``.

optimizer = torch.optim.Adam(model.parameters(), lr=0.01)


def train_one_epoch(model, loader, optimizer) -> float:
    model.train()
    total_loss = 0.0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(targets)
    return total_loss / len(loader.dataset)


def evaluate(model, loader) -> tuple[float, float]:
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.inference_mode():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            logits = model(inputs)
            total_loss += loss_fn(logits, targets).item() * len(targets)
            correct += (logits.argmax(dim=1) == targets).sum().item()
    return total_loss / len(loader.dataset), correct / len(loader.dataset)


history = []  # (training loss, validation loss) per epoch
for epoch in range(1, 31):
    train_loss = train_one_epoch(model, train_loader, optimizer)
    val_loss, val_accuracy = evaluate(model, val_loader)
    history.append((train_loss, val_loss))
    if epoch % 10 == 0:
        print(f"epoch {epoch}: train {train_loss:.3f}, val {val_loss:.3f}")
print(f"validation accuracy: {val_accuracy:.3f}")

# %%
# A guess gets one point in three right. A linear model, ``nn.Linear(2, 3)``,
# can only cut the plane with straight lines:

torch.manual_seed(0)
linear = nn.Linear(2, num_classes).to(device)
linear_optimizer = torch.optim.Adam(linear.parameters(), lr=0.01)
for _ in range(30):
    train_one_epoch(linear, train_loader, linear_optimizer)
print(f"linear model: {evaluate(linear, val_loader)[1]:.3f} right")

# %%
# Straight lines get about half of the points right, the network most of
# them; the noise pushes a few points onto a neighbouring arm.

import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap

grid = torch.linspace(-1.3, 1.3, 200)
grid_x, grid_y = torch.meshgrid(grid, grid, indexing="xy")
plane = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1)
with torch.inference_mode():  # the model is in eval mode after evaluate()
    regions = model(plane.to(device)).argmax(dim=1)
regions = regions.reshape(grid_x.shape).cpu()
val_points, val_labels = points[val_set.indices], labels[val_set.indices]

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.6))
train_losses, val_losses = zip(*history, strict=True)
left.plot(range(1, 31), train_losses, "-", range(1, 31), val_losses, "--")
colours = ListedColormap(["tab:blue", "tab:orange", "tab:green"])
levels = [-0.5, 0.5, 1.5, 2.5]
right.contourf(grid_x, grid_y, regions, levels, cmap=colours, alpha=0.3)
right.scatter(*val_points.T, c=val_labels, cmap=colours, s=12, ec="k", lw=0.3)
right.set_aspect("equal")
plt.show()

# %%
# .. figure-caption::
#
#    Left: the cross-entropy loss after each epoch (horizontal axis), on the
#    training set (solid line) and on the validation set (dashed). Right: each
#    point of the plane coloured with the class the model predicts there, its
#    decision regions, under the validation points coloured by their class.
#
# The validation loss follows the training loss: the network learned the
# spirals, not the training samples.
#
# Saving, and predicting with the saved model
# -------------------------------------------
#
# As on :ref:`sphx_glr_auto_tutorials_plot_12_saving_loading.py`: save the
# state dicts; later, build the model, load them with ``map_location`` and
# ``weights_only=True``, and switch to evaluation mode. ``softmax`` turns
# logits into probabilities that sum to 1; the class is still the ``argmax``.

import tempfile
from pathlib import Path

workdir = tempfile.TemporaryDirectory()
path = Path(workdir.name) / "spirals.pt"
state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
torch.save({**state, "epoch": epoch}, path)

restored = SpiralClassifier().to(device)
checkpoint = torch.load(path, map_location=device, weights_only=True)
restored.load_state_dict(checkpoint["model"])
restored.eval()
queries = [[0.0, 0.0], [0.5, 0.5], [-0.6, 0.2]]
with torch.inference_mode():
    logits = restored(torch.tensor(queries, device=device))
probabilities = logits.softmax(dim=1)
for point, probs in zip(queries, probabilities.tolist(), strict=True):
    rounded = [round(p, 3) for p in probs]
    print(f"point {point}: class {probs.index(max(probs))}, {rounded}")
restored_accuracy = evaluate(restored, val_loader)[1]
print(f"restored model, same accuracy: {restored_accuracy == val_accuracy}")
workdir.cleanup()

# %%
# Takeaways
# ---------
#
# * Split off a validation set with a seeded generator; judge the model on it.
# * A classifier returns logits; ``nn.CrossEntropyLoss`` applies the softmax.
# * Its targets are class indices (``int64``) or class probabilities (floats).
# * ``model.train()`` to train; ``model.eval()`` and ``torch.inference_mode()``
#   to validate and predict.
# * Accuracy is the share of ``logits.argmax(dim=1) == targets``.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_15_cnn_digits.py` trains a
# convolutional network on real images.
#
# Exercises
# ---------
#
# Exercise 1 ★: predict the loss of a model that knows nothing
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints (to 4 decimals); then change
# the logits to ``[[0.0, 0.0, 5.0]]`` and predict whether it goes up or down.
#
# .. code-block:: python
#
#    loss = nn.CrossEntropyLoss()(torch.zeros(1, 3), torch.tensor([2]))
#    print(f"{loss:.4f}")
#
# .. solution::
#
#    Solution
#
#    With equal logits, every class gets probability 1/3, and the loss is
#    :math:`-\ln(1/3) = \ln 3`. Logits that favour the true class lower it.

import math

loss = nn.CrossEntropyLoss()(torch.zeros(1, 3), torch.tensor([2]))
print(f"{loss:.4f}")
assert math.isclose(loss.item(), math.log(3), rel_tol=1e-6)
sure = nn.CrossEntropyLoss()(
    torch.tensor([[0.0, 0.0, 5.0]]), torch.tensor([2])
)
print(f"{sure:.4f}")
assert sure < loss

# %%
# Exercise 2 ★★: accuracy per class
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Compute the share of each class's validation points that ``model`` gets
# right. Check that the three shares, weighted by the number of points of each
# class, give back the validation accuracy.
#
# .. solution::
#
#    Solution
#
#    ``torch.bincount`` counts how often each class appears, among all points
#    and among the correct ones.

with torch.inference_mode():
    predicted = model(val_points.to(device)).argmax(dim=1).cpu()
right = predicted == val_labels
per_class = torch.bincount(val_labels, minlength=num_classes)
right_per_class = torch.bincount(val_labels[right], minlength=num_classes)
shares = right_per_class / per_class
print(f"right per class: {[round(s, 3) for s in shares.tolist()]}")
weighted = (shares * per_class).sum() / per_class.sum()
assert math.isclose(weighted.item(), val_accuracy, rel_tol=1e-6)

# %%
# Exercise 3 ★★: train with smoothed labels
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Train a new ``SpiralClassifier`` for 30 epochs on probability targets: the
# one-hot rows of the labels, smoothed by 0.1, in a loop you write. How does
# its validation accuracy compare with that of ``model``?
#
# .. solution::
#
#    Solution
#
#    The loss takes the probabilities directly. Smoothing changes how sure the
#    model gets, more than which class it picks, so the accuracy stays close.

torch.manual_seed(0)
smooth_model = SpiralClassifier().to(device)
smooth_optimizer = torch.optim.Adam(smooth_model.parameters(), lr=0.01)
for _ in range(30):
    smooth_model.train()
    for inputs, targets in train_loader:
        one_hot = nn.functional.one_hot(targets, num_classes).float()
        soft = (one_hot * 0.9 + 0.1 / num_classes).to(device)
        loss = loss_fn(smooth_model(inputs.to(device)), soft)
        smooth_optimizer.zero_grad()
        loss.backward()
        smooth_optimizer.step()
smooth_accuracy = evaluate(smooth_model, val_loader)[1]
print(f"smoothed labels: {smooth_accuracy:.3f}, indices: {val_accuracy:.3f}")
assert abs(smooth_accuracy - val_accuracy) < 0.05
