"""
Models as nn.Module: train(), eval() and no_grad
================================================

Every PyTorch model is an ``nn.Module``: a class that holds layers and
parameters and says, in ``forward``, how they turn an input into an output.
After this tutorial you will be able to write such a class, list its
parameters, switch it between training and evaluation mode and say what that
changes, choose between ``torch.no_grad()`` and ``torch.inference_mode()``, and
move a model to a device.

**What you need:** PyTorch ≥ 2.6. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install it.
"""

# %%
# Writing a model
# ---------------
#
# A model subclasses ``nn.Module``. Its ``__init__`` first calls
# ``super().__init__()``, then creates the layers as attributes; ``forward``
# uses them. This one has a hidden layer with batch normalisation and dropout,
# two layers that behave differently in training and in evaluation, as we will
# see.

import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, n_in: int, n_hidden: int, n_out: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.norm = nn.BatchNorm1d(n_hidden)
        self.drop = nn.Dropout(p=0.5)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm(self.hidden(x)))
        return self.out(self.drop(x))


torch.manual_seed(0)
model = MLP(4, 8, 3)
x = torch.randn(6, 4)
print(model)
print("output shape:", tuple(model(x).shape))

# %%
# Call the model, ``model(x)``, rather than ``model.forward(x)``: the call runs
# ``forward`` and also any hooks registered on the module.
# ``super().__init__()`` must come first, because it creates the registries
# that record the layers; assigning a layer before it fails:


class EarlyLayer(nn.Module):
    def __init__(self) -> None:
        self.fc = nn.Linear(2, 1)
        super().__init__()


try:
    EarlyLayer()
except AttributeError as err:
    print(f"AttributeError: {err}")

# %%
# Parameters and buffers
# ----------------------
#
# Assigning a layer (a module) or an ``nn.Parameter`` as an attribute
# *registers* it. ``parameters()`` yields every registered parameter, of the
# model and of all its layers, and ``named_parameters()`` yields each with its
# dotted name. This is what the optimizer receives.

for name, param in model.named_parameters():
    print(f"{name:14s} {tuple(param.shape)}")
print("parameters:", sum(p.numel() for p in model.parameters()))

# %%
# Batch normalisation also keeps *buffers*: running statistics that it updates
# itself, that no optimizer touches and that are saved in the ``state_dict``
# with the parameters.

for name, buffer in model.named_buffers():
    print(
        f"{name:24s} {buffer.tolist() if buffer.ndim == 0 else tuple(buffer.shape)}"
    )

# %%
# Only attributes that are modules or parameters are registered. Layers kept in
# a plain Python list are invisible: the model has no parameters to train, and
# the optimizer says so.


class PlainList(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = [nn.Linear(4, 4), nn.Linear(4, 1)]


try:
    torch.optim.SGD(PlainList().parameters(), lr=0.1)
except ValueError as err:
    print(f"ValueError: {err}")

# %%
# ``nn.ModuleList`` (or ``nn.Sequential``) registers the layers it holds:


class RegisteredList(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 1)])


print("parameters:", [name for name, _ in RegisteredList().named_parameters()])

# %%
# train() and eval()
# ------------------
#
# Every module has a flag, ``training``. A new module is in training mode;
# ``model.eval()`` sets the flag to ``False`` on the model and every layer in
# it, and ``model.train()`` sets it back. Most layers ignore it. Two common
# ones do not.
#
# **Dropout** sets each element to zero with probability ``p`` during training
# and multiplies the others by ``1 / (1 - p)``, so the expected value stays the
# same. Each call draws a new mask. In evaluation mode it passes its input
# through unchanged.

drop = nn.Dropout(p=0.5)
ones = torch.ones(8)
print("training:", drop(ones), drop(ones), sep="\n  ")
drop.eval()
print("evaluation:", drop(ones), drop(ones), sep="\n  ")

# %%
# **Batch normalisation** normalises each feature during training with the mean
# and variance of the *current batch*, so a sample's output depends on the
# other samples in its batch, and it updates its running statistics. In
# evaluation mode it uses those running statistics, and a sample gets the same
# output in any batch.

norm = nn.BatchNorm1d(2)
sample = torch.tensor([[1.0, 2.0]])
batch_a = torch.cat([sample, torch.tensor([[0.0, 0.0], [5.0, 1.0]])])
batch_b = torch.cat([sample, torch.tensor([[9.0, -3.0], [2.0, 2.0]])])


def output_of_sample(batch: torch.Tensor) -> list[float]:
    return [round(v, 4) for v in norm(batch)[0].tolist()]


print("training, the sample in batch a:", output_of_sample(batch_a))
print("training, the sample in batch b:", output_of_sample(batch_b))
print("running mean after two batches:", norm.running_mean)
norm.eval()
print("evaluation, in batch a:", output_of_sample(batch_a))
print("evaluation, in batch b:", output_of_sample(batch_b))

# %%
# In training mode a batch of one sample has no variance to normalise with, and
# ``BatchNorm1d`` refuses it; in evaluation mode one sample is fine. This is
# one reason to predict in evaluation mode:

norm.train()
try:
    norm(sample)
except ValueError as err:
    print(f"ValueError: {err}")
norm.eval()
print("evaluation, batch of one:", output_of_sample(sample))

# %%
# For the whole model, ``eval()`` reaches every layer. In training mode two
# calls on the same input give different outputs (dropout draws new masks); in
# evaluation mode they agree.

model.train()
print("training mode, two calls equal:  ", torch.equal(model(x), model(x)))
model.eval()
print("evaluation mode, two calls equal:", torch.equal(model(x), model(x)))
print("flags:", model.training, model.drop.training, model.norm.training)

# %%
# no_grad() and inference_mode()
# ------------------------------
#
# ``eval()`` changes how layers compute; it does not stop autograd. The output
# of a model in evaluation mode still records the operations that made it, so
# that a backward pass could run:

print("after eval(), output requires grad:", model(x).requires_grad)

# %%
# ``torch.no_grad()`` stops the recording: inside it, results have no
# ``grad_fn`` and autograd keeps no intermediate values for them, which saves
# memory and time. It changes nothing else, so the layers still follow
# ``training``. You also need it to change a parameter in place by hand, as an
# optimizer does; outside it, autograd refuses:

weight = nn.Linear(2, 1).weight
try:
    weight -= 0.1
except RuntimeError as err:
    print(f"RuntimeError: {err}")
with torch.no_grad():
    weight -= 0.1
    out = model(x)
print("under no_grad():", out.requires_grad, out.grad_fn)

# %%
# ``torch.inference_mode()`` disables everything ``no_grad()`` does and, in
# addition, the bookkeeping that autograd keeps on every tensor (the version
# counter that detects in-place changes, and the records of views), which makes
# it a little faster. The price: what it creates are *inference tensors*.
# Autograd refuses to save them for a later backward pass, and they cannot be
# changed in place outside inference mode (``.clone()`` one to get a normal
# tensor). A result of ``no_grad()`` has no such restriction.

with torch.inference_mode():
    frozen = model(x)
print(
    "inference tensor:",
    frozen.is_inference(),
    "| from no_grad():",
    out.is_inference(),
)
head = nn.Linear(3, 1)
head(out).sum().backward()
print(
    "a no_grad() result can feed a new graph: head.weight.grad",
    head.weight.grad,
)
try:
    head(frozen).sum().backward()
except RuntimeError as err:
    print(f"RuntimeError: {str(err).split('. ')[0]}.")
try:
    frozen.add_(1)
except RuntimeError as err:
    print(f"RuntimeError: {str(err).split('.')[0]}.")

# %%
# So to predict, use both: ``model.eval()`` for the layers, and
# ``torch.inference_mode()`` around the forward pass (``torch.no_grad()`` when
# the results must enter autograd later). Both also work as decorators,
# ``@torch.inference_mode()``. Back in training, call ``model.train()`` again.
#
# Moving a model to a device
# --------------------------
#
# ``model.to(device)`` moves every parameter and buffer, *in place*, and
# returns the model itself. ``tensor.to(device)`` is different: it returns a
# new tensor and leaves the original where it was, so assign its result. A
# dtype works the same way, which shows the difference on any machine:

tensor = torch.ones(2)
tensor.to(torch.float64)
print("tensor.to() without assigning:", tensor.dtype)
first = next(model.parameters())
print("model.to() returns the model:", model.to(torch.float64) is model)
print(
    "same parameter, new dtype:",
    first is next(model.parameters()),
    first.dtype,
)
model.to(torch.float32)

# %%
# A module has no ``device`` attribute; ask one of its parameters. Pick the
# device once, move the model there before you create its optimizer, and move
# every batch of inputs too. ``.to()`` moves the parameters in place, so an
# optimizer made earlier still holds them, but the state an optimizer already
# keeps (after a step or a ``load_state_dict``) does not move.

device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)
model.to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model.eval()
with torch.inference_mode():
    predicted = model(x.to(device)).argmax(dim=1)
print(
    f"model on {next(model.parameters()).device}; predicted classes {predicted.tolist()}"
)

# %%
# Takeaways
# ---------
#
# - A model subclasses ``nn.Module``: ``super().__init__()`` first, layers as
#   attributes, the computation in ``forward``; call it as ``model(x)``.
# - ``named_parameters()`` lists what the optimizer trains. Layers in a plain
#   list are not registered: use ``nn.ModuleList``. Buffers such as running
#   statistics are saved, not trained.
# - ``model.train()`` and ``model.eval()`` switch Dropout and BatchNorm between
#   their two behaviours; they do not touch autograd.
# - ``torch.no_grad()`` stops autograd from recording;
#   ``torch.inference_mode()`` also drops its bookkeeping, and autograd cannot
#   save its results for a later backward pass. Predict with ``model.eval()``
#   and ``torch.inference_mode()``.
# - ``model.to(device)`` moves the model in place; ``tensor.to(device)``
#   returns a copy.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_08_gradients_by_hand.py` checks that
# the gradients autograd computes are right.
