"""
Saving and loading a model
==========================

Training takes time, so you save what it produced: to continue later, or to
predict with the model elsewhere. After reading this page you will be able to:

* save a model's and an optimizer's state dicts, with the epoch, in one file;
* say what a state dict holds, and why it beats pickling the whole model;
* load a file safely with ``weights_only=True``, onto any device with
  ``map_location``;
* continue training from a checkpoint, or start afresh when there is none;
* predict with a loaded model, in evaluation mode under
  ``torch.inference_mode()``.

**What you need:** PyTorch ≥ 2.6. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install it.
"""

# %%
# A model to save
# ---------------
#
# The model has a ``BatchNorm1d`` layer and dropout, which behave differently
# in training and in evaluation. The files of this page go to a temporary
# folder, ``root``.

import os
import tempfile
from pathlib import Path

import torch
from torch import nn

if torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")
workdir = tempfile.TemporaryDirectory()
root = Path(workdir.name)


class Net(nn.Sequential):
    def __init__(self) -> None:
        layers = [
            nn.Linear(2, 16),
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.Dropout(0.2),
        ]
        super().__init__(*layers, nn.Linear(16, 1))


torch.manual_seed(0)
model = Net().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

# %%
# .. _erratum-e31:
#
# Erratum E31: Undefined trainloader
# ----------------------------------
#
# The article's training loop reads batches from a ``trainloader`` that it
# never defines. Python looks the name up when the loop starts, so the script
# stops there. Define the loader before the loop (:ref:`E31 on the errata page
# <e31>`):

try:
    iter(trainloader)  # what the article's for loop does first
except NameError as err:
    print(f"NameError: {err}")

from torch.utils.data import DataLoader, TensorDataset

inputs = torch.randn(64, 2)
targets = inputs @ torch.tensor([[2.0], [-1.0]]) + 0.5
trainloader = DataLoader(
    TensorDataset(inputs, targets), batch_size=16, shuffle=True
)

# %%
# .. _erratum-e32:
#
# Erratum E32: Dictionary keys on tensor batches
# ----------------------------------------------
#
# The article's loop reads each batch as a dictionary, ``sample['image']``. But
# a batch has the structure of the samples: a list of two tensors for this
# dataset of pairs, a tensor for a dataset of tensors like the article's
# previous one; neither has keys. Unpack the pairs, as the loop below does
# (:ref:`E32 on the errata page <e32>`).

sample = next(iter(trainloader))
try:
    images, labels = sample["image"], sample["label"]
except TypeError as err:
    print(f"TypeError: {err}")

for epoch in range(3):
    model.train()
    for batch_inputs, batch_targets in trainloader:
        batch_inputs, batch_targets = (
            batch_inputs.to(device),
            batch_targets.to(device),
        )
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(batch_inputs), batch_targets)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: last batch loss {loss.item():.3f}")

# %%
# .. _erratum-e36:
#
# Erratum E36: A state dict is more than parameters
# -------------------------------------------------
#
# ``model.state_dict()`` maps names to tensors. The article says that it holds
# only the parameters, but it also holds *buffers*: here the statistics that
# ``BatchNorm1d`` gathers in training and uses in evaluation, without which the
# model predicts differently. Save and load the whole state dict (:ref:`E36 on
# the errata page <e36>`):

print(
    "not parameters:",
    [n for n in model.state_dict() if n not in dict(model.named_parameters())],
)
probe = torch.tensor([[1.0, 2.0], [0.5, -1.0]], device=device)
only_parameters, whole_state = Net().to(device), Net().to(device)
only_parameters.load_state_dict(dict(model.named_parameters()), strict=False)
whole_state.load_state_dict(model.state_dict())
for label, net in [
    ("trained", model),
    ("parameters", only_parameters),
    ("state", whole_state),
]:
    print(
        f"{label:10} {[round(v, 4) for v in net.eval()(probe).flatten().tolist()]}"
    )

# %%
# .. _erratum-e28:
#
# Erratum E28: Whole-model saving
# -------------------------------
#
# The article's other way, saving the whole model, pickles it: the file names
# the class ``Net`` by its import path and breaks when ``Net`` moves. Since
# torch 2.6, ``torch.load`` refuses it unless you allowlist every class it
# names (``add_safe_globals``). Save the state dict, and rebuild the model in
# code (:ref:`E28 on the errata page <e28>`).

import pickle

torch.save(model, root / "whole-model.pt")
try:
    torch.load(root / "whole-model.pt")
except pickle.UnpicklingError as err:
    print(
        "UnpicklingError:",
        next(ln for ln in str(err).splitlines() if "GLOBAL" in ln).strip(),
    )

# %%
# .. _erratum-e29:
#
# Erratum E29: exists() on a string
# ---------------------------------
#
# The article keeps the checkpoint's path in a string and asks it whether the
# file exists. ``exists()`` is a method of ``pathlib.Path``, not of ``str``:
# make the path a ``Path`` (:ref:`E29 on the errata page <e29>`).

checkpoint_path = f"{root}/checkpoints/checkpoint.pth"
try:
    checkpoint_path.exists()
except AttributeError as err:
    print(f"AttributeError: {err}")
checkpoint_path = Path(checkpoint_path)
print(f"Path: exists() = {checkpoint_path.exists()}")

# %%
# .. _erratum-e30:
#
# Erratum E30: Missing checkpoint folder
# --------------------------------------
#
# A checkpoint holds the epoch and both state dicts (without the optimizer's,
# Adam would restart its running averages). ``torch.save`` creates no folder,
# and the article's folder does not exist. Create it before training (:ref:`E30
# on the errata page <e30>`):

checkpoint = {
    "epoch": epoch,
    "model": model.state_dict(),
    "optimizer": optimizer.state_dict(),
}
try:
    torch.save(checkpoint, checkpoint_path)
except RuntimeError as err:
    print(f"RuntimeError: {err}".replace(str(root), "<root>"))
checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
torch.save(checkpoint, checkpoint_path)

# %%
# .. _erratum-e35:
#
# Erratum E35: Loading untrusted checkpoints
# ------------------------------------------
#
# The article loads with a bare ``torch.load`` and never says that a file can
# run code. A ``.pt`` file is a zip archive of tensor bytes and a pickle, which
# can name any function to call while it is read. ``weights_only=True``, the
# default since torch 2.6, rebuilds only tensors, plain values and allowlisted
# classes. Spell it out, and never pass ``False`` for a file you did not make
# (:ref:`E35 on the errata page <e35>`). This file makes a folder:


class CreatesFolder:
    def __reduce__(self):  # unpickling calls os.mkdir(root / "code-was-run")
        return (os.mkdir, (root / "code-was-run",))


torch.save(
    {"model": model.state_dict(), "extra": CreatesFolder()},
    root / "downloaded.pt",
)
try:
    torch.load(root / "downloaded.pt", weights_only=True)
except pickle.UnpicklingError as err:
    print(
        "UnpicklingError:",
        next(ln for ln in str(err).splitlines() if "GLOBAL" in ln).strip(),
    )
print(f"code ran with weights_only=True:  {(root / 'code-was-run').exists()}")
torch.load(root / "downloaded.pt", weights_only=False)
print(f"code ran with weights_only=False: {(root / 'code-was-run').exists()}")

# %%
# .. _erratum-e33:
#
# Erratum E33: No map_location
# ----------------------------
#
# The article loads without ``map_location``, so each tensor goes back to the
# device it was saved from, and a file saved from a GPU needs one. Name this
# process's device instead (:ref:`E33 on the errata page <e33>`). This file is
# tagged ``cuda:0``, as a GPU's would be:

from unittest import mock

with mock.patch.object(
    torch.serialization, "location_tag", return_value="cuda:0"
):
    torch.save({"weight": torch.ones(2)}, root / "saved-on-gpu.pt")
try:
    print(
        torch.load(root / "saved-on-gpu.pt", weights_only=True)[
            "weight"
        ].device
    )
except RuntimeError as err:
    print(f"RuntimeError: {err}")
weight = torch.load(
    root / "saved-on-gpu.pt", map_location=device, weights_only=True
)["weight"]
print(f"loaded with map_location={str(device)!r}: on {weight.device}")

# %%
# Continuing training, or starting afresh
# ---------------------------------------
#
# Build the model, move it to the device, create the optimizer, then load the
# state dicts. The optimizer puts its state on each parameter's device *at that
# moment*: move the model after loading, and Adam's state stays behind and the
# next step fails.

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
adam_state = optimizer.state[model[0].weight]["exp_avg"]
print(
    f"epoch {start_epoch}: weights on {model[0].weight.device}, Adam's on {adam_state.device}"
)

# %%
# .. _erratum-e42:
#
# Erratum E42: The else branch initialises nothing
# ------------------------------------------------
#
# The article says that without a checkpoint, "we initialise the model
# parameters". Its ``else`` branch only sets the epoch to 0: the layers drew
# their weights when ``Net()`` was built, from torch's global random state.
# Seed torch before building the model to start from the same weights on every
# run (:ref:`E42 on the errata page <e42>`):

torch.manual_seed(0)
first = Net()[0].weight
torch.manual_seed(0)
print(
    f"two models built after the same seed: same weights {torch.equal(first, Net()[0].weight)}"
)

# %%
# .. _erratum-e43:
#
# Erratum E43: Predicting with a saved model is never shown
# ---------------------------------------------------------
#
# The article announces loading "to use a saved model", but only resumes
# training. A loaded model is in training mode: ``BatchNorm1d`` refuses a
# single sample, and dropout changes every answer. Call ``model.eval()``, and
# predict under ``torch.inference_mode()`` so that autograd records nothing
# (:ref:`E43 on the errata page <e43>`):

careless = Net().to(device)
careless.load_state_dict(checkpoint["model"])
try:
    careless(probe[:1])
except ValueError as err:
    print(f"ValueError: {err}")
print(
    f"training mode, same answer twice: {torch.equal(careless(probe), careless(probe))}"
)
predictor = Net().to(device)
predictor.load_state_dict(checkpoint["model"])
predictor.eval()
with torch.inference_mode():
    first, second, single = (
        predictor(probe),
        predictor(probe),
        predictor(probe[:1]),
    )
print(
    f"eval(), same answer twice: {torch.equal(first, second)}, grad: {first.requires_grad}"
)
print(
    f"predictions {[round(v, 4) for v in first.flatten().tolist()]}, alone {single.item():.4f}"
)

# %%
# Takeaways
# ---------
#
# * Save state dicts, the model's and the optimizer's, with the epoch; a state
#   dict holds buffers too. Rebuild the model in code and load them into it.
# * Keep paths as ``pathlib.Path`` and create the folder before training.
# * Load with ``weights_only=True`` spelled out, and ``map_location`` set to
#   your device.
# * Build the model, move it, create the optimizer, then load the state dicts.
# * Predict after ``model.eval()``, under ``torch.inference_mode()``.
# * Next, :ref:`sphx_glr_auto_tutorials_plot_13_checkpoints_resume.py` makes
#   checkpoints survive a crash, and resumes a run exactly.

workdir.cleanup()
