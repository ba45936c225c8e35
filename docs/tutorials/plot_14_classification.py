"""
A classification task, end to end
=================================

The earlier pages fit a straight line. Most real tasks are classification:
given an input, say which of a few classes it belongs to. This page trains a
small network on a problem no straight line can solve, checks it on data it
never trained on, saves it, and predicts with the saved copy. After reading it
you will be able to:

* split a data set into training and validation sets with a seeded generator;
* write a classifier as a subclass of ``nn.Module`` that returns logits;
* train it with ``nn.CrossEntropyLoss`` over a ``DataLoader``, in
  ``model.train()`` mode;
* measure the validation loss and accuracy after every epoch, in
  ``model.eval()`` mode and under ``torch.inference_mode()``;
* save a checkpoint and predict with a freshly built model loaded from it.

**What you need:** PyTorch ≥ 2.6 and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# The data: three spirals
# -----------------------
#
# Each sample is a point in the plane, and its label says which of three spiral
# arms it lies on. The points are generated with a seeded ``torch.Generator``,
# so every run sees the same data and nothing is downloaded. With real images
# you would take a ``Dataset`` from ``torchvision.datasets`` instead (e.g.
# ``MNIST``); the rest of the page would not change.

import torch

num_classes, per_class = 3, 300
data_generator = torch.Generator().manual_seed(0)
radius = torch.linspace(0.05, 1.0, per_class).repeat(num_classes)
labels = torch.arange(num_classes).repeat_interleave(per_class)
angle = 4.0 * radius + labels * (2 * torch.pi / num_classes)
angle += 0.5 * torch.randn(
    len(labels), generator=data_generator
)  # noise: arms overlap
points = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
print(
    f"points {tuple(points.shape)} {points.dtype}, labels {tuple(labels.shape)} {labels.dtype}"
)
print(f"samples per class: {torch.bincount(labels).tolist()}")

# %%
# The labels are class *indices*, ``0``, ``1`` or ``2``, as ``int64``: that is
# the form ``nn.CrossEntropyLoss`` expects, not one-hot vectors.
#
# Training and validation sets
# ----------------------------
#
# A model is judged on samples it never trained on: the *validation set*.
# Otherwise a model that only memorised its training samples would look
# perfect. ``random_split`` draws the split; its own seeded generator makes it
# the same on every run, whatever else draws random numbers before it.

from torch.utils.data import DataLoader, TensorDataset, random_split

dataset = TensorDataset(points, labels)
train_set, val_set = random_split(
    dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(1)
)
print(
    f"training samples: {len(train_set)}, validation samples: {len(val_set)}"
)

train_loader = DataLoader(
    train_set,
    batch_size=64,
    shuffle=True,
    generator=torch.Generator().manual_seed(2),
)
val_loader = DataLoader(
    val_set, batch_size=256
)  # no shuffling needed to evaluate

# %%
# The model: an ``nn.Module`` subclass
# ------------------------------------
#
# A model is a class derived from ``nn.Module``. Its ``__init__`` calls
# ``super().__init__()`` first, then creates the layers as attributes: that
# registers their parameters, so ``model.parameters()``, ``model.to(device)``
# and ``model.state_dict()`` find them. ``forward`` says how an input flows
# through the layers; you call the model, ``model(x)``, never
# ``model.forward(x)``, so that PyTorch's hooks run.
#
# The last layer returns one raw score per class, the *logits*, with no
# softmax: ``nn.CrossEntropyLoss`` applies ``log_softmax`` itself, in a
# numerically safe way. During training only, the dropout layer zeroes each
# hidden value with probability 0.1.

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


device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)
torch.manual_seed(0)  # the initial weights and the dropout masks
model = SpiralClassifier().to(device)
print(model)
print(
    f"parameters: {sum(p.numel() for p in model.parameters())}, device: {device}"
)

# %%
# The training and validation loops
# ---------------------------------
#
# One epoch of training reads every training batch once. ``model.train()``
# switches the dropout on; the step itself is the one of the earlier pages.
# After each epoch, ``evaluate`` runs the validation set with ``model.eval()``,
# which switches the dropout off, and under ``torch.inference_mode()``, which
# records no graph for autograd: faster, and less memory.
#
# The loss is a mean over a batch, so we weigh it by the batch size before
# averaging over the epoch: the last, smaller batch then counts exactly as much
# as its samples. The predicted class is the index of the largest logit,
# ``argmax(dim=1)``.

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)


def train_one_epoch(model, loader, loss_fn, optimizer):
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


def evaluate(model, loader, loss_fn):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.inference_mode():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            logits = model(inputs)
            total_loss += loss_fn(logits, targets).item() * len(targets)
            correct += (logits.argmax(dim=1) == targets).sum().item()
    return total_loss / len(loader.dataset), correct / len(loader.dataset)


history = {"train loss": [], "validation loss": [], "validation accuracy": []}
for epoch in range(1, 31):
    train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer)
    val_loss, val_accuracy = evaluate(model, val_loader, loss_fn)
    for key, value in zip(
        history, (train_loss, val_loss, val_accuracy), strict=True
    ):
        history[key].append(value)
    if epoch % 5 == 0:
        print(
            f"epoch {epoch:2}: train loss {train_loss:.3f}, val loss {val_loss:.3f}, "
            f"val acc {val_accuracy:.3f}"
        )
print(f"validation accuracy: {val_accuracy:.3f}")

# %%
# A guess gets one sample in three right. To see what the hidden layers buy,
# the same loops train a linear model, ``nn.Linear(2, 3)``: it can only cut the
# plane with straight lines.

torch.manual_seed(0)
linear = nn.Linear(2, num_classes).to(device)
linear_optimizer = torch.optim.Adam(linear.parameters(), lr=0.01)
for _ in range(30):
    train_one_epoch(linear, train_loader, loss_fn, linear_optimizer)
print(
    f"linear model: {evaluate(linear, val_loader, loss_fn)[1]:.3f} of the validation set right"
)

# %%
# The straight lines get about half of the points right; the network gets most
# of them. Its validation loss follows its training loss: it learned the
# spirals, not the training samples. The noise pushes some points onto a
# neighbouring arm, so a few validation points stay wrong whatever the model.
#
# The left plot shows the losses per epoch; the right one colours every point
# of the plane with the class the model predicts there, its *decision regions*,
# under the validation points.

import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap

grid = torch.linspace(-1.3, 1.3, 200)
grid_x, grid_y = torch.meshgrid(grid, grid, indexing="xy")
with torch.inference_mode():  # model is still in eval mode after evaluate()
    regions = model(
        torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1).to(device)
    )
regions = regions.argmax(dim=1).reshape(grid_x.shape).cpu()
val_points, val_labels = points[val_set.indices], labels[val_set.indices]

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.6))
epochs = range(1, len(history["train loss"]) + 1)
left.plot(epochs, history["train loss"], label="training loss")
left.plot(epochs, history["validation loss"], label="validation loss")
left.set_xlabel("epoch")
left.set_ylabel("cross-entropy loss")
left.legend()
colours = ListedColormap(
    ["tab:blue", "tab:orange", "tab:green"]
)  # class 0, 1, 2
right.contourf(
    grid_x,
    grid_y,
    regions,
    levels=[-0.5, 0.5, 1.5, 2.5],
    cmap=colours,
    alpha=0.3,
)
right.scatter(
    *val_points.T,
    c=val_labels,
    cmap=colours,
    vmin=0,
    vmax=2,
    s=12,
    edgecolors="k",
    linewidths=0.3,
)
right.set_aspect("equal")
right.set_title("decision regions, validation points")
plt.show()

# %%
# Saving a checkpoint
# -------------------
#
# A checkpoint saves *state dicts*, the tensors of the model and of the
# optimizer, not the pickled objects: loading then needs only your class, and
# ``torch.load`` can refuse anything that is not plain data. Add whatever you
# need to continue or to know what the file holds, here the epoch. (For a save
# that a crash cannot half-write, and an exact resume, see
# :func:`pttour.save_checkpoint`.)

import tempfile
from pathlib import Path

workdir = tempfile.TemporaryDirectory()
path = Path(workdir.name) / "spirals.pt"
torch.save(
    {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
    },
    path,
)
print(f"saved {path.name}: {path.stat().st_size} bytes")

# %%
# Predicting with the saved model
# -------------------------------
#
# Later, maybe in another program or on another machine: build the model from
# its class, load the tensors with ``map_location`` (a file written on a GPU
# then loads on a machine without one) and ``weights_only=True`` (only tensors
# and plain containers are rebuilt; it has been the default since PyTorch 2.6),
# copy them in with ``load_state_dict``, and switch to evaluation mode.

restored = SpiralClassifier().to(device)
checkpoint = torch.load(path, map_location=device, weights_only=True)
restored.load_state_dict(checkpoint["model"])
restored.eval()

queries = [[0.0, 0.0], [0.5, 0.5], [-0.6, 0.2]]
new_points = torch.tensor(queries, device=device)
with torch.inference_mode():
    logits = restored(new_points)
predicted, probabilities = logits.argmax(dim=1), logits.softmax(dim=1)
for point, label, probs in zip(
    queries, predicted.tolist(), probabilities.tolist(), strict=True
):
    print(
        f"point {point}: class {label}, probabilities {[round(p, 3) for p in probs]}"
    )

_, restored_accuracy = evaluate(restored, val_loader, loss_fn)
print(
    f"restored model, validation accuracy: {restored_accuracy:.3f} "
    f"(same as before saving: {restored_accuracy == val_accuracy})"
)

# %%
# ``softmax`` turns logits into probabilities that sum to 1; the class is still
# the ``argmax``, which softmax does not change. The restored model scores
# exactly as the trained one did: the file holds everything the predictions
# depend on.
#
# Why ``eval()`` matters here: in training mode, dropout draws a new mask at
# every call, so the same input gets different answers.

restored.train()
with torch.inference_mode():
    first, second = restored(new_points), restored(new_points)
print(f"train mode, two calls agree: {torch.equal(first, second)}")
restored.eval()
with torch.inference_mode():
    first, second = restored(new_points), restored(new_points)
print(f"eval mode, two calls agree: {torch.equal(first, second)}")
workdir.cleanup()

# %%
# ``inference_mode`` and ``eval()`` do different jobs: the first stops autograd
# from recording, the second changes how layers such as ``nn.Dropout`` and
# ``nn.BatchNorm1d`` behave. Prediction needs both. ``torch.no_grad()`` is the
# older, slightly slower alternative to ``inference_mode``; use it when a
# result must later take part in autograd, which tensors created under
# ``inference_mode`` cannot.
#
# Takeaways
# ---------
#
# * Split off a validation set with a seeded generator, and judge the model
#   only on it.
# * A classifier returns logits; ``nn.CrossEntropyLoss`` takes them with class
#   indices (``int64``) as targets, and applies the softmax itself.
# * ``model.train()`` before training, ``model.eval()`` and
#   ``torch.inference_mode()`` for validation and prediction.
# * Accuracy is the share of ``logits.argmax(dim=1) == targets``.
# * Save state dicts; to predict, build the model, ``torch.load(path,
#   map_location=device, weights_only=True)``, ``load_state_dict``, ``eval()``,
#   then call it under ``inference_mode``.
