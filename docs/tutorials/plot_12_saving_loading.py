"""
Saving and loading a model
==========================

Training takes time, so you save what it produced: to continue later, or to
predict with the model elsewhere. PyTorch saves a model's *state dict*, the
tensors that make up its state, and you rebuild the model in code before you
load them back. After reading this page you will be able to:

* say what a state dict holds, and why you save it rather than the model;
* save a checkpoint: the model's and the optimizer's state dicts, with the
  epoch, in one file;
* load it safely with ``weights_only=True``, onto your device with
  ``map_location``, and continue training from it;
* predict with a loaded model, in evaluation mode.

**What you need:** PyTorch ≥ 2.6 and pttour. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# What a state dict holds
# -----------------------
#
# The model of this page has a ``BatchNorm1d`` layer (batch normalisation) and
# dropout, two layers that behave differently in training and in evaluation.
# ``model.state_dict()`` maps a name to each tensor of the model's state.

import torch
from torch import nn

if torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")


class Net(nn.Sequential):
    def __init__(self) -> None:
        layers = [nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU()]
        super().__init__(*layers, nn.Dropout(0.2), nn.Linear(16, 1))


torch.manual_seed(0)
model = Net().to(device)
parameters = dict(model.named_parameters())
for name, tensor in model.state_dict().items():
    kind = "parameter" if name in parameters else "buffer"
    print(f"{name:26} {kind:9} {tuple(tensor.shape)}")

# %%
# The *parameters* are what the optimizer trains: the linear layers' weights
# and biases, ``BatchNorm1d``'s scale and shift. The *buffers* are state that
# is not trained: ``BatchNorm1d`` keeps a running mean and variance of its
# inputs in training and uses them in evaluation. A state dict holds both, as
# plain tensors: save it rather than the model object, which Python would
# have to *pickle* (store as a recipe that rebuilds it, class and all).
#
# Training, then saving a checkpoint
# ----------------------------------
#
# A few epochs of training on made-up data give us something to save. A
# *checkpoint* is one file with all you need to continue: the model's state
# dict, the optimizer's (Adam keeps running averages of the gradients; without
# them it would start afresh), and the epoch. ``torch.save`` writes any dict
# of tensors and plain values. Keep paths as ``pathlib.Path``, and create the
# folder first: ``torch.save`` creates no folder. The files of this page go to
# a temporary folder, ``root``.

import tempfile
from pathlib import Path

from torch.utils.data import DataLoader, TensorDataset

inputs = torch.randn(64, 2)
targets = inputs @ torch.tensor([[2.0], [-1.0]]) + 0.5
dataset = TensorDataset(inputs, targets)
shuffle = torch.Generator().manual_seed(0)
loader = DataLoader(dataset, batch_size=16, shuffle=True, generator=shuffle)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

model.train()
for epoch in range(3):
    total = 0.0
    for batch_inputs, batch_targets in loader:
        prediction = model(batch_inputs.to(device))
        loss = nn.functional.mse_loss(prediction, batch_targets.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f"epoch {epoch}: mean loss {total / len(loader):.3f}")

workdir = tempfile.TemporaryDirectory()
root = Path(workdir.name)
checkpoint_path = root / "checkpoints" / "checkpoint.pt"
checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
checkpoint = {
    "epoch": epoch,
    "model": model.state_dict(),
    "optimizer": optimizer.state_dict(),
}
torch.save(checkpoint, checkpoint_path)

# %%
# Loading: ``weights_only`` and ``map_location``
# ----------------------------------------------
#
# A ``.pt`` file is a zip archive: the tensors' bytes, and a pickle that says
# how to put them back together. A pickle can name any function to call while
# it is read, so a file can run code. ``weights_only=True``, the default since
# PyTorch 2.6, rebuilds only tensors, numbers, strings and containers of them;
# write it anyway, for the reader and for older versions.
# ``map_location=device`` puts each tensor on this process's device, so a file
# saved on a GPU loads on a laptop. Move the model and create the optimizer
# *before* loading: ``optimizer.load_state_dict`` puts Adam's state on the
# device of each parameter.

model = Net().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
if checkpoint_path.exists():
    state = torch.load(checkpoint_path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    start_epoch = state["epoch"] + 1
else:
    start_epoch = 0  # from the weights that Net() drew when it was built
print(f"training goes on at epoch {start_epoch}")

# %%
# Predicting with a loaded model
# ------------------------------
#
# A model stays in training mode after ``load_state_dict``. To predict, call
# ``model.eval()``: dropout then keeps every value, and ``BatchNorm1d`` uses
# its running statistics instead of the batch's, so one sample alone works
# too. Under ``torch.inference_mode()`` autograd records nothing.

probe = torch.tensor([[1.0, 2.0], [0.5, -1.0]], device=device)
model.eval()
with torch.inference_mode():
    both = model(probe)
    alone = model(probe[:1])
print(f"predictions {[round(v, 4) for v in both.flatten().tolist()]}")
print(f"first alone {alone.item():.4f}, grad recorded: {both.requires_grad}")

# %%
# :func:`pttour.save_checkpoint` is the tested save: it also creates the
# folder, checks that all it stores loads with ``weights_only=True``, stores
# the random states (the next page says why), and writes so that a crash
# cannot destroy the last good file. :func:`pttour.load_checkpoint`, the
# tested load, checks that the file fits before it changes anything.

import pttour

saved = pttour.save_checkpoint(root / "tested.pt", model, optimizer, epoch=2)
restored = Net().to(device)
restored_optimizer = torch.optim.Adam(restored.parameters(), lr=0.01)
info = pttour.load_checkpoint(saved, restored, restored_optimizer)
with torch.inference_mode():
    same = torch.equal(restored.eval()(probe), both)
print(f"loaded epoch {info.epoch}, same predictions: {same}")

# %%
# Takeaways
# ---------
#
# * A state dict holds parameters *and* buffers; save it, not the model.
# * A checkpoint holds both state dicts and the epoch, in a folder you made.
# * Load with ``map_location=device, weights_only=True`` after ``.to(device)``.
# * Predict after ``model.eval()``, under ``torch.inference_mode()``.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_13_checkpoints_resume.py` makes
# checkpoints survive a crash, and resumes a run exactly.
#
# What the article got wrong
# --------------------------
#
# This page follows the first part of §4.5 "Saving and loading" of the
# article; the :doc:`errata page </errata>` has the full entries.
#
# .. _erratum-e28:
#
# Erratum E28: Whole-model saving
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article offers ``torch.save(model)``, which pickles the model's class:

import pickle

torch.save(model, root / "whole-model.pt")
try:
    torch.load(root / "whole-model.pt", weights_only=True)
except pickle.UnpicklingError as err:
    refused = str(err)[str(err).index("Unsupported") :]
    print(f"UnpicklingError: {refused.split(' was not')[0]}")

# %%
# Save the state dict, and rebuild the model in code. :ref:`Full entry <e28>`
#
# .. _erratum-e29:
#
# Erratum E29: exists() on a string
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article asks a path held in a string whether the file exists:

try:
    "checkpoints/checkpoint.pt".exists()
except AttributeError as err:
    print(f"AttributeError: {err}")

# %%
# Make it a ``pathlib.Path``, as the lesson does. :ref:`Full entry <e29>`
#
# .. _erratum-e30:
#
# Erratum E30: Missing checkpoint folder
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article saves into a ``checkpoints`` folder that it never creates:

try:
    torch.save({"epoch": 0}, root / "missing" / "checkpoint.pt")
except RuntimeError as err:
    print(f"RuntimeError: {err}".replace(str(root), "<root>"))

# %%
# Create the folder first, as the lesson does. :ref:`Full entry <e30>`
#
# .. _erratum-e31:
#
# Erratum E31: Undefined trainloader
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article's loop reads a ``trainloader`` that it never defines:

try:
    iter(trainloader)  # what the article's for loop does first
except NameError as err:
    print(f"NameError: {err}")

# %%
# Build the loader first, as the lesson does. :ref:`Full entry <e31>`
#
# .. _erratum-e32:
#
# Erratum E32: Dictionary keys on tensor batches
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article reads each batch as a dictionary, ``sample['image']``:

try:
    next(iter(loader))["image"]
except TypeError as err:
    print(f"TypeError: {err}")

# %%
# Unpack the pair, as the lesson's loop does. :ref:`Full entry <e32>`
#
# .. _erratum-e33:
#
# Erratum E33: No map_location
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article loads without ``map_location``; this file is tagged as a GPU's:

from unittest import mock

with mock.patch("torch.serialization.location_tag", return_value="cuda:0"):
    torch.save({"weight": torch.ones(2)}, root / "saved-on-gpu.pt")
try:
    loaded = torch.load(root / "saved-on-gpu.pt", weights_only=True)
    print(f"loaded on {loaded['weight'].device}: this machine has a GPU")
except RuntimeError as err:
    print(f"RuntimeError: {str(err).split(' but ')[0]}")

# %%
# Pass ``map_location=device``, as the lesson does. :ref:`Full entry <e33>`
#
# .. _erratum-e35:
#
# Erratum E35: Loading untrusted checkpoints
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article never says that a checkpoint can run code. This one does:


class Prints:
    def __reduce__(self):  # unpickling calls print("...")
        return (print, ("weights_only=False: this code ran during the load",))


torch.save({"extra": Prints()}, root / "downloaded.pt")
loaded = torch.load(root / "downloaded.pt", weights_only=False)

# %%
# Load with ``weights_only=True`` spelled out, which refuses this file, and
# never pass ``False`` for a file you did not make. :ref:`Full entry <e35>`
#
# .. _erratum-e36:
#
# Erratum E36: A state dict is more than parameters
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says a state dict holds only the parameters. Without buffers:

only_parameters = Net().to(device).eval()
only_parameters.load_state_dict(dict(model.named_parameters()), strict=False)
with torch.inference_mode():
    print(f"parameters only: {only_parameters(probe)[0].item():.4f}")
print(f"whole state:     {both[0].item():.4f}")

# %%
# Save and load the whole state dict. :ref:`Full entry <e36>`
#
# .. _erratum-e42:
#
# Erratum E42: The else branch initialises nothing
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says its ``else`` branch initialises the weights; ``Net()`` did:

torch.manual_seed(0)
first = Net()[0].weight
torch.manual_seed(0)
print(f"same seed, same weights: {torch.equal(first, Net()[0].weight)}")

# %%
# Seed torch before building the model. :ref:`Full entry <e42>`
#
# .. _erratum-e43:
#
# Erratum E43: Predicting with a saved model is never shown
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article never predicts with a loaded model. In training mode:

careless = Net().to(device)
careless.load_state_dict(state["model"])
try:
    careless(probe[:1])
except ValueError as err:
    print(f"ValueError: {str(err).split(', got')[0]}")
print(f"same answer twice: {torch.equal(careless(probe), careless(probe))}")

# %%
# Call ``model.eval()`` first, as the lesson does. :ref:`Full entry <e43>`
#
# Exercises
# ---------
#
# Exercise 1 ★: predict a state dict
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict how many entries this state dict has, and
# which of them are buffers.
#
# .. code-block:: python
#
#    small = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.ReLU())
#    print(len(small.state_dict()))
#
# .. solution::
#
#    Solution
#
#    ``Linear`` holds a weight and a bias, ``BatchNorm1d`` two parameters and
#    three buffers, named after its index, ``1``; ``ReLU`` holds nothing.

small = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.ReLU())
print(len(small.state_dict()))
print("buffers:", [name for name, _ in small.named_buffers()])
assert len(small.state_dict()) == 2 + 2 + 3

# %%
# Exercise 2 ★★: continue training and show that it matches
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Load ``checkpoint_path`` into a new model and optimizer, and train them one
# step on a fixed batch, twice: do both end with the same weights? Then leave
# the optimizer's state out: do they still match?
#
# .. solution::
#
#    Solution
#
#    Dropout draws random numbers, so each step starts from the same seed.
#    Without Adam's running averages, the first step of a new Adam differs.

x, y = inputs[:16].to(device), targets[:16].to(device)
weights = []
for with_optimizer in (True, True, False):
    net = Net().to(device)
    adam = torch.optim.Adam(net.parameters(), lr=0.01)
    # a fresh copy each time: Adam updates the state it loads in place
    state = torch.load(checkpoint_path, map_location=device, weights_only=True)
    net.load_state_dict(state["model"])
    if with_optimizer:
        adam.load_state_dict(state["optimizer"])
    torch.manual_seed(1)  # the same dropout mask each time
    nn.functional.mse_loss(net(x), y).backward()
    adam.step()
    weights.append(net[0].weight.detach())
same, without = torch.equal(*weights[:2]), torch.equal(*weights[1:])
print(f"both loaded: {same}; optimizer left out: {without}")
assert same
assert not without
workdir.cleanup()
