"""
A convolutional network on real images
======================================

The spirals of the previous page were points in a plane. An image is a grid
of pixels, and what matters in it, a stroke or a corner, can lie anywhere in
the grid. A *convolutional* network looks for such patterns with small
filters that slide over the image. This page trains one on real handwritten
digits that ship with scikit-learn, so nothing is downloaded. After reading it
you will be able to:

* turn a stack of images into a tensor of shape (batch, channels, height,
  width);
* say what ``nn.Conv2d``, ``nn.MaxPool2d`` and ``nn.Flatten`` do to that shape,
  and why a convolution needs few parameters;
* train and validate a small convolutional network in a loop you write;
* show the images it gets wrong.

**What you need:** PyTorch ≥ 2.6, matplotlib and scikit-learn. The
`installation page <https://pttour.github.io/pttour/en/install.html>`_ shows
how to install them.
"""

# %%
# The data: 1,797 handwritten digits
# ----------------------------------
#
# ``sklearn.datasets.load_digits`` returns images of 8×8 pixels, each pixel a
# grey level from 0 (white) to 16 (black), and the digit each image shows.
# PyTorch's layers for images expect a tensor of shape ``(batch, channels,
# height, width)``: these images have one channel, grey (a colour image has
# three). ``unsqueeze(1)`` adds that dimension, and dividing by 16 brings the
# pixels to the range 0 to 1, which suits the initial weights of the layers.

import torch
from sklearn.datasets import load_digits

digits = load_digits()
print(f"images {digits.images.shape}, labels {digits.target.shape}")
images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16
labels = torch.tensor(digits.target)
print(f"as tensors: {tuple(images.shape)} {images.dtype}, {labels.dtype}")
print(f"images per digit: {torch.bincount(labels).tolist()}")

# %%
# As on :ref:`sphx_glr_auto_tutorials_plot_14_classification.py`, a seeded
# ``random_split`` keeps a fifth of the images aside for validation.

from torch.utils.data import DataLoader, TensorDataset, random_split

dataset = TensorDataset(images, labels)
split_generator = torch.Generator().manual_seed(0)
train_set, val_set = random_split(dataset, [0.8, 0.2], split_generator)
shuffle_generator = torch.Generator().manual_seed(0)
train_loader = DataLoader(
    train_set, batch_size=64, shuffle=True, generator=shuffle_generator
)
val_loader = DataLoader(val_set, batch_size=512)
print(f"training images: {len(train_set)}, validation: {len(val_set)}")

# %%
# Convolution, pooling, flattening
# --------------------------------
#
# ``nn.Conv2d(1, 16, kernel_size=3, padding=1)`` holds 16 *filters* of 3×3
# weights. Each filter slides over the image; at every position it multiplies
# the 3×3 pixels under it by its weights and adds them up (and a bias). That
# gives one new image per filter, a *feature map*, large where the pattern of
# the filter is found. ``padding=1`` adds a border of zeros, so that the maps
# keep the 8×8 size. The same 9 weights serve at every position, so a stroke
# is found wherever it lies, with few parameters.
#
# ``nn.MaxPool2d(2)`` keeps the largest value of each 2×2 block: it halves the
# height and the width, and a pattern moved by one pixel still gives the same
# value. A second convolution combines the 16 maps into 32 maps of larger
# patterns. ``nn.Flatten()`` then lays each image's maps out in one row, the
# input that ``nn.Linear`` expects, and the linear layer gives the 10 logits.

from torch import nn

if torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(32 * 2 * 2, 10),
).to(device)

x = images[:1].to(device)  # one image, as a batch of one
print(f"{'input':9} {tuple(x.shape)}")
for layer in model:
    x = layer(x)
    print(f"{type(layer).__name__:9} {tuple(x.shape)}")

# %%
# The shape shrinks from 8×8 pixels to 2×2 while the channels grow from 1 to
# 32. The first convolution needs 16 × 9 weights and 16 biases; a linear
# layer that maps the 64 pixels to the same 16 maps of 8×8 would need
# four hundred times more:

conv_parameters = sum(p.numel() for p in model[0].parameters())
print(f"Conv2d(1, 16, 3): {conv_parameters} parameters")
print(f"Linear(64, 16 * 64): {64 * 16 * 64 + 16 * 64} parameters")
print(f"whole model: {sum(p.numel() for p in model.parameters())} parameters")

# %%
# Training and validation
# -----------------------
#
# The loop is the one of the previous page, written out: eight epochs of
# training in ``model.train()`` mode, each followed by the validation accuracy
# in ``model.eval()`` mode under ``torch.inference_mode()``.

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(1, 9):
    model.train()
    total_loss = 0.0
    for batch_images, batch_labels in train_loader:
        batch_images = batch_images.to(device)
        batch_labels = batch_labels.to(device)
        loss = loss_fn(model(batch_images), batch_labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(batch_labels)
    model.eval()
    correct = 0
    with torch.inference_mode():
        for batch_images, batch_labels in val_loader:
            logits = model(batch_images.to(device))
            predicted = logits.argmax(dim=1).cpu()
            correct += (predicted == batch_labels).sum().item()
    train_loss = total_loss / len(train_set)
    val_accuracy = correct / len(val_set)
    print(f"epoch {epoch}: loss {train_loss:.3f}, accuracy {val_accuracy:.3f}")
print(f"validation accuracy: {val_accuracy:.3f}")

# %%
# The images it gets wrong
# ------------------------
#
# Predict the whole validation set at once, find the images whose predicted
# digit is not the true one, and draw them among others, each with its
# prediction. A red frame and ``predicted→true`` mark a mistake.

import matplotlib.pyplot as plt

val_images, val_labels = images[val_set.indices], labels[val_set.indices]
with torch.inference_mode():
    predicted = model(val_images.to(device)).argmax(dim=1).cpu()
wrong = (predicted != val_labels).nonzero().flatten().tolist()
right = (predicted == val_labels).nonzero().flatten().tolist()
print(f"wrong: {len(wrong)} of {len(val_labels)}")
few_wrong = wrong[:8]
others = right[:: len(right) // (24 - len(few_wrong))]  # spread over the set
shown = sorted(few_wrong + others[: 24 - len(few_wrong)])

fig, axes = plt.subplots(3, 8, figsize=(8, 3.6), layout="constrained")
for ax, index in zip(axes.flat, shown, strict=True):
    ax.imshow(val_images[index, 0], cmap="gray_r")
    ax.set_xticks([])
    ax.set_yticks([])
    guess, truth = predicted[index].item(), val_labels[index].item()
    if guess == truth:
        ax.set_title(f"{guess}", fontsize=11)
        plt.setp(ax.spines.values(), color="lightgrey")
    else:
        ax.set_title(f"{guess}→{truth}", fontsize=11, color="red")
        plt.setp(ax.spines.values(), color="red", linewidth=2.5)
plt.show()

# %%
# .. figure-caption::
#
#    Twenty-four validation images of 8×8 pixels, each under the digit the
#    network predicts for it. The images it gets wrong have a red frame and
#    read predicted→true.
#
# Some mistakes are ones a person could make at 8×8 pixels; others show what
# more epochs or a larger network could still learn.
#
# Takeaways
# ---------
#
# * Images go into PyTorch's layers as ``(batch, channels, height, width)``.
# * ``nn.Conv2d`` slides small filters over the image, the same weights
#   everywhere: few parameters, and a pattern is found wherever it lies.
# * ``nn.MaxPool2d(2)`` halves height and width; ``nn.Flatten()`` makes one
#   row per image for ``nn.Linear``.
# * The training and validation loops do not change with the model.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_16_custom_autograd.py` writes a
# backward pass by hand.
#
# Exercises
# ---------
#
# Exercise 1 ★: predict the shape of a feature map
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then add ``padding=1`` to the
# convolution, and then a ``nn.MaxPool2d(2)`` after it, predicting each time.
#
# .. code-block:: python
#
#    batch = torch.zeros(5, 1, 8, 8)
#    print(nn.Conv2d(1, 4, kernel_size=3)(batch).shape)
#
# .. solution::
#
#    Solution
#
#    Without padding a 3×3 filter fits in 6 positions along each side of 8
#    pixels.

batch = torch.zeros(5, 1, 8, 8)
print(nn.Conv2d(1, 4, kernel_size=3)(batch).shape)
assert nn.Conv2d(1, 4, kernel_size=3)(batch).shape == (5, 4, 6, 6)
padded = nn.Conv2d(1, 4, kernel_size=3, padding=1)(batch)
print(padded.shape, nn.MaxPool2d(2)(padded).shape)
assert padded.shape == (5, 4, 8, 8)
assert nn.MaxPool2d(2)(padded).shape == (5, 4, 4, 4)

# %%
# Exercise 2 ★★: count the parameters by hand
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A ``Conv2d(c_in, c_out, k)`` holds ``c_out`` filters of ``c_in × k × k``
# weights, and one bias per filter. Compute the parameters of the model of
# this page by hand, and check your count against ``numel()``.
#
# .. solution::
#
#    Solution

first = 16 * (1 * 3 * 3) + 16
second = 32 * (16 * 3 * 3) + 32
last = 10 * (32 * 2 * 2) + 10
print(f"{first} + {second} + {last} = {first + second + last}")
assert first + second + last == sum(p.numel() for p in model.parameters())

# %%
# Exercise 3 ★★: which digits does it confuse?
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Count, for each true digit (row) and each predicted digit (column), how many
# validation images fall there: the *confusion matrix*. Check that its
# diagonal gives back the validation accuracy.
#
# .. solution::
#
#    Solution
#
#    ``true * 10 + predicted`` numbers the 100 cells; ``torch.bincount``
#    counts them.

cells = torch.bincount(val_labels * 10 + predicted, minlength=100)
confusion = cells.reshape(10, 10)
for digit, row in enumerate(confusion.tolist()):
    print(digit, " ".join(f"{n:2}" for n in row))
diagonal = confusion.diagonal().sum().item()
assert diagonal / len(val_set) == val_accuracy
