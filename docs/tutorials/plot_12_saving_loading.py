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
  ``map_location``;
* continue training from it, or start afresh when there is none;
* predict with a loaded model, in evaluation mode under
  ``torch.inference_mode()``.

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
        super().__init__(
            nn.Linear(2, 16),
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(16, 1),
        )


torch.manual_seed(0)
model = Net().to(device)
parameters = dict(model.named_parameters())
for name, tensor in model.state_dict().items():
    kind = "parameter" if name in parameters else "buffer"
    print(f"{name:26} {kind:9} {tuple(tensor.shape)}")

# %%
# The *parameters* are what the optimizer trains: the weights and biases of
# the linear layers, and the scale and shift of ``BatchNorm1d``. The *buffers*
# are state that is not trained: ``BatchNorm1d`` keeps a running mean and
# variance of its inputs during training and uses them in evaluation. A state
# dict holds both, as plain tensors: no code, no class. That is why you save
# it, and not the model object, which Python would have to *pickle* (store as
# the recipe that rebuilds the object, class and all).
#
# Training, then saving a checkpoint
# ----------------------------------
#
# A few epochs of training on made-up data, so that there is something to
# save. The printed loss is the mean over the epoch's batches.

from torch.utils.data import DataLoader, TensorDataset

inputs = torch.randn(64, 2)
targets = inputs @ torch.tensor([[2.0], [-1.0]]) + 0.5
loader = DataLoader(
    TensorDataset(inputs, targets),
    batch_size=16,
    shuffle=True,
    generator=torch.Generator().manual_seed(0),
)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

for epoch in range(3):
    model.train()
    total = 0.0
    for batch_inputs, batch_targets in loader:
        batch_inputs = batch_inputs.to(device)
        batch_targets = batch_targets.to(device)
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(batch_inputs), batch_targets)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f"epoch {epoch}: mean loss {total / len(loader):.3f}")

# %%
# A *checkpoint* is one file with all you need to continue: the model's state
# dict, the optimizer's (Adam keeps running averages of the gradients; without
# them it would start afresh), and the epoch. ``torch.save`` writes any dict
# of tensors and plain values. Keep paths as ``pathlib.Path``, and create the
# folder first: ``torch.save`` creates no folder. The files of this page go to
# a temporary folder, ``root``.

import tempfile
from pathlib import Path

workdir = tempfile.TemporaryDirectory()
root = Path(workdir.name)
checkpoint_path = root / "checkpoints" / "checkpoint.pt"
checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
torch.save(
    {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    },
    checkpoint_path,
)
print(f"saved {checkpoint_path.name}, epoch {epoch}")

# %%
# Loading: ``weights_only`` and ``map_location``
# ----------------------------------------------
#
# A ``.pt`` file is a zip archive: the tensors' bytes, and a pickle that says
# how to put them back together. A pickle can name any function to call while
# it is read, so a file can run code. ``weights_only=True``, the default since
# PyTorch 2.6, rebuilds only tensors, numbers, strings and containers of them,
# and refuses anything else. Write it anyway: the reader of your code then
# knows, and an older PyTorch does the same.
#
# Each tensor in the file remembers the device it was saved from.
# ``map_location=device`` puts them on this process's device instead, so a
# file saved on a GPU loads on a laptop.
#
# The order matters: build the model, move it to the device, create the
# optimizer, *then* load the state dicts. ``optimizer.load_state_dict`` puts
# Adam's state on each parameter's device at that moment.

model = Net().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
if checkpoint_path.exists():
    checkpoint = torch.load(
        checkpoint_path, map_location=device, weights_only=True
    )
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    start_epoch = checkpoint["epoch"] + 1
else:
    start_epoch = 0
print(f"training goes on at epoch {start_epoch}")
adam_state = optimizer.state[model[0].weight]["exp_avg"]
print(
    f"weights on {model[0].weight.device}, Adam's state on {adam_state.device}"
)

# %%
# Without a checkpoint the loop starts at epoch 0 with the weights that
# ``Net()`` drew when it was built. From ``start_epoch``, the training loop is
# the one above.
#
# Predicting with a loaded model
# ------------------------------
#
# A model is in training mode until you say otherwise, also after
# ``load_state_dict``. To predict, call ``model.eval()``: dropout then keeps
# every value, and ``BatchNorm1d`` uses its stored running statistics instead
# of those of the batch, so one sample alone works too. Run it under
# ``torch.inference_mode()``, which tells autograd to record nothing.

probe = torch.tensor([[1.0, 2.0], [0.5, -1.0]], device=device)
model.eval()
with torch.inference_mode():
    both = model(probe)
    alone = model(probe[:1])
print(f"predictions {[round(v, 4) for v in both.flatten().tolist()]}")
print(f"first alone {alone.item():.4f}, grad recorded: {both.requires_grad}")

# %%
# The tested version: pttour's checkpoint functions
# -------------------------------------------------
#
# :func:`pttour.save_checkpoint` is the tested version of the save above. It
# also creates the folder, checks that all it stores loads with
# ``weights_only=True``, stores the random states (the next page says why),
# and writes so that a crash cannot destroy the last good file.
# :func:`pttour.load_checkpoint` is the tested version of the load: it checks
# that the file fits your model and optimizer before it changes either.

import pttour

saved = pttour.save_checkpoint(
    root / "runs" / "epoch-0002.pt", model, optimizer, epoch=2
)
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
# * A state dict holds a model's parameters *and* buffers, as plain tensors.
#   Save state dicts, and rebuild the model in code to load them.
# * A checkpoint holds the model's and the optimizer's state dicts and the
#   epoch. Keep its path as a ``pathlib.Path``; create the folder first.
# * Load with ``torch.load(path, map_location=device, weights_only=True)``,
#   after building the model, moving it and creating the optimizer.
# * Predict after ``model.eval()``, under ``torch.inference_mode()``.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_13_checkpoints_resume.py` makes
# checkpoints survive a crash, and resumes a run exactly.
#
# What the article got wrong
# --------------------------
#
# This page follows the first part of §4.5 "Saving and loading" of the
# article, the next page the rest; the :doc:`errata page </errata>` lists all
# its mistakes.
#
# .. _erratum-e28:
#
# Erratum E28: Whole-model saving
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article names saving the whole model as a way to save, without its cost.
# ``torch.save(model)`` pickles the object, and loading refuses it:

import pickle

torch.save(model, root / "whole-model.pt")
try:
    torch.load(root / "whole-model.pt", weights_only=True)
except pickle.UnpicklingError as err:
    line = next(ln for ln in str(err).splitlines() if "GLOBAL" in ln)
    refused = line[line.index("Unsupported") :].split(" was not")[0]
    print(f"UnpicklingError: {refused}")

# %%
# Even with the class allowlisted (``add_safe_globals``), the file breaks when
# ``Net`` moves to another module. Save the state dict, and rebuild the model
# in code. :ref:`Full entry <e28>`
#
# .. _erratum-e29:
#
# Erratum E29: exists() on a string
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article keeps the checkpoint's path in a string and asks it whether the
# file exists:

try:
    "checkpoints/checkpoint.pt".exists()
except AttributeError as err:
    print(f"AttributeError: {err}")

# %%
# ``exists()`` is a method of ``pathlib.Path``: make the path one, as the
# lesson does. :ref:`Full entry <e29>`
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
# Create the folder before training,
# ``checkpoint_path.parent.mkdir(parents=True, exist_ok=True)``.
# :ref:`Full entry <e30>`
#
# .. _erratum-e31:
#
# Erratum E31: Undefined trainloader
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article's loop reads batches from a ``trainloader`` that it never
# defines, so Python stops at the loop:

try:
    iter(trainloader)  # what the article's for loop does first
except NameError as err:
    print(f"NameError: {err}")
trainloader = loader  # the fix: define it before the loop

# %%
# Build the loader before the loop, as the lesson does.
# :ref:`Full entry <e31>`
#
# .. _erratum-e32:
#
# Erratum E32: Dictionary keys on tensor batches
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article reads each batch as a dictionary, ``sample['image']``. A batch
# has the structure of the samples: here a list of two tensors, with no keys.

sample = next(iter(loader))
try:
    sample["image"]
except TypeError as err:
    print(f"TypeError: {err}")

# %%
# Unpack the pair, ``for batch_inputs, batch_targets in loader``.
# :ref:`Full entry <e32>`
#
# .. _erratum-e33:
#
# Erratum E33: No map_location
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article loads without ``map_location``, so each tensor goes back to the
# device it was saved from. This file is tagged ``cuda:0``, as a GPU's is:

from unittest import mock

with mock.patch.object(
    torch.serialization, "location_tag", return_value="cuda:0"
):
    torch.save({"weight": torch.ones(2)}, root / "saved-on-gpu.pt")
try:
    loaded = torch.load(root / "saved-on-gpu.pt", weights_only=True)
    print(f"loaded on {loaded['weight'].device}: this machine has a GPU")
except RuntimeError as err:
    print(f"RuntimeError: {str(err).split(' but ')[0]}")

# %%
# Load with ``map_location=device``, as the lesson does.
# :ref:`Full entry <e33>`
#
# .. _erratum-e35:
#
# Erratum E35: Loading untrusted checkpoints
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article loads with a bare ``torch.load`` and never says that a file can
# run code. This one makes a folder while it is read:

import os


class MakesFolder:
    def __reduce__(self):  # unpickling calls os.mkdir(root / "code-was-run")
        return (os.mkdir, (root / "code-was-run",))


torch.save({"extra": MakesFolder()}, root / "downloaded.pt")
try:
    torch.load(root / "downloaded.pt", weights_only=True)
except pickle.UnpicklingError as err:
    print(f"UnpicklingError: {str(err).split('. ')[0]}")
print(f"weights_only=True:  code ran: {(root / 'code-was-run').exists()}")
torch.load(root / "downloaded.pt", weights_only=False)
print(f"weights_only=False: code ran: {(root / 'code-was-run').exists()}")

# %%
# Save only state dicts, load with ``weights_only=True`` spelled out, and never
# pass ``False`` for a file you did not make. :ref:`Full entry <e35>`
#
# .. _erratum-e36:
#
# Erratum E36: A state dict is more than parameters
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says the state dict holds only the parameters. Loading only
# them leaves ``BatchNorm1d``'s running statistics at their initial values:

only_parameters = Net().to(device)
only_parameters.load_state_dict(dict(model.named_parameters()), strict=False)
with torch.inference_mode():
    predicted = only_parameters.eval()(probe)
print(f"parameters only: {predicted.flatten().tolist()[0]:.4f}")
print(f"whole state:     {both.flatten().tolist()[0]:.4f}")

# %%
# Save and load the whole state dict, buffers included. :ref:`Full entry
# <e36>`
#
# .. _erratum-e42:
#
# Erratum E42: The else branch initialises nothing
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says that without a checkpoint, its code initialises the
# parameters. Its ``else`` branch only sets the epoch to 0: each layer drew
# its weights when it was built, from torch's global random state.

torch.manual_seed(0)
first = Net()[0].weight
torch.manual_seed(0)
print(f"same seed, same weights: {torch.equal(first, Net()[0].weight)}")

# %%
# Seed torch before building the model to start from the same weights on
# every run. :ref:`Full entry <e42>`
#
# .. _erratum-e43:
#
# Erratum E43: Predicting with a saved model is never shown
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article announces loading to use a saved model, but only resumes
# training. Left in training mode, a loaded model refuses one sample and
# answers differently each time:

careless = Net().to(device)
careless.load_state_dict(checkpoint["model"])
try:
    careless(probe[:1])
except ValueError as err:
    print(f"ValueError: {str(err).split(', got')[0]}")
print(f"same answer twice: {torch.equal(careless(probe), careless(probe))}")

# %%
# Call ``model.eval()`` and predict under ``torch.inference_mode()``, as the
# lesson does. :ref:`Full entry <e43>`
#
# Exercises
# ---------
#
# Exercise 1 ★: predict a state dict
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then add
# ``nn.BatchNorm1d(2)`` after the linear layer and predict again.
#
# .. code-block:: python
#
#    small = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
#    print(list(small.state_dict()))
#
# .. solution::
#
#    Solution
#
#    ``nn.ReLU`` has no state. ``BatchNorm1d`` adds two parameters and three
#    buffers, under its index in the ``Sequential``, ``1``.

small = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
print(list(small.state_dict()))
assert list(small.state_dict()) == ["0.weight", "0.bias"]
small = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.ReLU())
print("parameters:", [name for name, _ in small.named_parameters()])
print("buffers:", [name for name, _ in small.named_buffers()])
assert len(small.state_dict()) == 4 + 3

# %%
# Exercise 2 ★★: continue training and show that it matches
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Write a function that loads ``checkpoint_path`` into a new model and
# optimizer and trains them one step on a fixed batch. Check that two calls
# end with the same weights. Then leave the optimizer's state out of the
# second call: do they still match?
#
# .. solution::
#
#    Solution
#
#    Dropout draws random numbers, so each step starts from the same seed.
#    Without Adam's running averages, the first step of a new Adam differs.


def one_step(with_optimizer: bool) -> torch.Tensor:
    net = Net().to(device)
    adam = torch.optim.Adam(net.parameters(), lr=0.01)
    state = torch.load(
        checkpoint_path,
        map_location=device,
        weights_only=True,
    )
    net.load_state_dict(state["model"])
    if with_optimizer:
        adam.load_state_dict(state["optimizer"])
    torch.manual_seed(1)
    x, y = inputs[:16].to(device), targets[:16].to(device)
    nn.functional.mse_loss(net(x), y).backward()
    adam.step()
    return net[0].weight.detach()


same = torch.equal(one_step(True), one_step(True))
without = torch.equal(one_step(True), one_step(False))
print(f"both loaded: {same}; optimizer left out: {without}")
assert same
assert not without

workdir.cleanup()
