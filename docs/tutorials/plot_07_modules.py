"""
Models as nn.Module: train(), eval() and no_grad
================================================

Every PyTorch model is an ``nn.Module``: a class that holds layers and
parameters and says, in ``forward``, how they turn an input into an output.
After reading this page you will be able to:

* write such a class and list the parameters an optimizer will train;
* choose activation functions, and see vanishing gradients coming;
* switch a model between training and evaluation mode, and choose between
  ``torch.no_grad()`` and ``torch.inference_mode()``;
* move a model to a device, and say when ``.to()`` returns a new tensor.

**What you need:** PyTorch ≥ 2.6 and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Writing a model
# ---------------
#
# A model subclasses ``nn.Module``. Its ``__init__`` first calls
# ``super().__init__()``, then creates the layers as attributes; ``forward``
# uses them. This one has batch normalisation and dropout, two layers that
# behave differently in training and in evaluation, as we will see.

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
for name, layer in model.named_children():  # print(model) shows more
    print(f"{name:6s} {type(layer).__name__}")
print("output shape:", tuple(model(x).shape))

# %%
# Call the model, ``model(x)``, rather than ``model.forward(x)``: the call also
# runs any hooks registered on the module. ``super().__init__()`` comes first
# because it creates the registries that record the layers.
#
# Parameters and buffers
# ----------------------
#
# Assigning a layer (a module) or an ``nn.Parameter`` as an attribute
# *registers* it. ``parameters()`` yields every registered parameter, of the
# model and of all its layers, and ``named_parameters()`` their dotted names
# too: this is what the optimizer receives. Batch normalisation also keeps
# *buffers*: running statistics that it updates itself, that no optimizer
# touches and that the ``state_dict`` saves.

for name, param in model.named_parameters():
    print(f"{name:14s} {tuple(param.shape)}")
print("parameters:", sum(p.numel() for p in model.parameters()))
for name, buffer in model.named_buffers():
    print(f"{name:24s} {tuple(buffer.shape)}")

# %%
# Layers in a plain Python list are not registered, and the optimizer would not
# train them. ``nn.ModuleList`` (or ``nn.Sequential``) registers them:


class TwoLists(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.plain = [nn.Linear(4, 4)]
        self.registered = nn.ModuleList([nn.Linear(4, 1)])


print("parameters:", [name for name, _ in TwoLists().named_parameters()])

# %%
# Activation functions and vanishing gradients
# --------------------------------------------
#
# Between two linear layers a model needs a non-linear *activation function*,
# such as ``torch.relu`` in ``MLP``: two linear layers alone compose into one
# linear map. Common ones are ReLU, ``max(0, x)``; the sigmoid, ``1 / (1 +
# exp(-x))``; and tanh. Backpropagation multiplies the gradient, layer after
# layer, by the slope of each activation and by the weights. The sigmoid's
# slope is at most 0.25, so in a deep stack the gradient shrinks at every
# layer and the first layers barely learn: the gradients *vanish*. ReLU's
# slope is 1 wherever it is active. We measure it on stacks of 10 layers
# (``nn.Sequential(a, b, ...)`` calls its modules in order), same seed, same
# input, and print the gradient norm of the first and last layer's weight:


def gradient_norms(activation, kaiming: bool = False) -> list[float]:
    torch.manual_seed(0)
    layers = []
    for _ in range(10):
        layers += [nn.Linear(32, 32), activation()]
    stack = nn.Sequential(*layers, nn.Linear(32, 1))
    if kaiming:  # initial weights scaled for ReLU, std sqrt(2 / 32)
        for layer in stack[:-1:2]:
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    stack(torch.randn(64, 32)).pow(2).mean().backward()
    return [layer.weight.grad.norm().item() for layer in stack[::2]]


norms = {
    "sigmoid": gradient_norms(nn.Sigmoid),
    "ReLU": gradient_norms(nn.ReLU),
    "ReLU, Kaiming": gradient_norms(nn.ReLU, kaiming=True),
}
for name, values in norms.items():
    print(f"{name:13s} first layer {values[0]:.1e}, last {values[-1]:.1e}")

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.2))
for name, values in norms.items():
    ax.plot(range(1, 12), values, marker="o", label=name)
ax.set(yscale="log", xlabel="l", ylabel="‖∇W‖")
ax.legend()
plt.show()

# %%
# .. figure-caption::
#
#    The norm of the gradient of the weight of each layer, ‖∇W‖ (log scale),
#    against the position l of the layer, from the input (1) to the output
#    (11), in stacks of 10 layers with sigmoid, ReLU, and ReLU with Kaiming
#    initialisation.
#
# With the sigmoid the first layer's gradient is nearly a billion times
# smaller than the last one's. ReLU alone helps, but the gradient still
# shrinks: PyTorch's default initialisation of ``nn.Linear`` draws weights too
# small for a ReLU stack. Kaiming (He) initialisation,
# ``nn.init.kaiming_normal_``, scales them for ReLU, and the gradient keeps its
# size through all the layers (deeper models add normalisation and residual
# connections).
#
# train() and eval()
# ------------------
#
# Every module has a flag, ``training``, ``True`` when it is created.
# ``model.eval()`` sets it to ``False`` on the model and all its layers, and
# ``model.train()`` sets it back. Most layers ignore it; two common ones do
# not. **Dropout** zeroes each element with probability ``p`` during training
# and multiplies the others by ``1 / (1 - p)``, keeping the expected value,
# with a new mask at each call. In evaluation mode it passes its input through.

drop = nn.Dropout(p=0.5)
ones = torch.ones(8)
print("training:", drop(ones), drop(ones), sep="\n  ")
drop.eval()
print("evaluation:", drop(ones), drop(ones), sep="\n  ")

# %%
# **Batch normalisation** normalises each feature during training with the mean
# and variance of the *current batch*, so a sample's output depends on the
# other samples of its batch, and it updates its running statistics. In
# evaluation mode it uses those, and a sample gets the same output in any
# batch. For a whole model, ``eval()`` reaches every layer: two calls on the
# same input differ in training mode (new dropout masks), not in evaluation.

norm = nn.BatchNorm1d(2)
batch_a = torch.tensor([[1.0, 2.0], [0.0, 0.0], [5.0, 1.0]])
batch_b = torch.tensor([[1.0, 2.0], [9.0, -3.0], [2.0, 2.0]])
for mode in ("training", "evaluation"):
    norm.train(mode == "training")  # train(False) does what eval() does
    for name, batch in (("a", batch_a), ("b", batch_b)):
        first = [round(v, 4) for v in norm(batch)[0].tolist()]
        print(f"{mode}, the sample in batch {name}: {first}")
model.train()
print("training mode, two calls equal:  ", torch.equal(model(x), model(x)))
model.eval()
print("evaluation mode, two calls equal:", torch.equal(model(x), model(x)))
print("flags:", model.training, model.drop.training, model.norm.training)

# %%
# no_grad() and inference_mode()
# ------------------------------
#
# ``eval()`` changes how layers compute; it does not stop autograd, which
# still records the operations for a backward pass. ``torch.no_grad()`` stops
# the recording: results have no ``grad_fn`` and no intermediate values are
# kept, which saves memory and time. You also need it to change a parameter in
# place by hand, as an optimizer does; outside it, autograd refuses:

import textwrap

print("after eval(), output requires grad:", model(x).requires_grad)
weight = nn.Linear(2, 1).weight
try:
    weight -= 0.1
except RuntimeError as err:
    print(textwrap.fill(f"RuntimeError: {err}", 79))
with torch.no_grad():
    weight -= 0.1
    out = model(x)
print("under no_grad():", out.requires_grad, out.grad_fn)

# %%
# ``torch.inference_mode()`` also drops the bookkeeping autograd keeps on every
# tensor (the version counter that detects in-place changes, the records of
# views), which makes it a little faster. It creates *inference tensors*, which
# autograd refuses to save for a backward pass and which cannot be changed in
# place outside inference mode (``.clone()`` one to get a normal tensor).

with torch.inference_mode():
    frozen = model(x)
print("inference tensors:", frozen.is_inference(), out.is_inference())
try:
    nn.Linear(3, 1)(frozen).sum().backward()
except RuntimeError as err:
    print(f"RuntimeError: {str(err).split('. ')[0]}.")

# %%
# To predict, use both: ``model.eval()`` for the layers and
# ``torch.inference_mode()`` around the forward pass (``torch.no_grad()`` if
# the results must enter autograd later); ``model.train()`` before training.
#
# Moving a model to a device
# --------------------------
#
# ``model.to(device)`` moves every parameter and buffer *in place* and returns
# the model. ``tensor.to(...)`` returns a new tensor when the dtype or device
# changes and the *same* tensor otherwise: assign its result. A dtype shows it:

tensor = torch.ones(2)
print("nothing to change, same object:", tensor.to(torch.float32) is tensor)
print("new dtype, new tensor:", tensor.to(torch.float64) is not tensor)
first = next(model.parameters())
print("model.to() returns the model:", model.to(torch.float64) is model)
print("same parameter object:", first is next(model.parameters()), first.dtype)
model = model.to(torch.float32)

# %%
# A module has no ``device`` attribute: ask a parameter,
# ``next(model.parameters()).device``. Move the model before you create its
# optimizer, and every batch too
# (:ref:`sphx_glr_auto_tutorials_plot_05_autograd_training.py`).
#
# Takeaways
# ---------
#
# - A model subclasses ``nn.Module``: ``super().__init__()`` first, layers as
#   attributes, the computation in ``forward``; call it as ``model(x)``.
# - ``named_parameters()`` lists what the optimizer trains. Layers in a plain
#   list are not registered: use ``nn.ModuleList``. Buffers such as running
#   statistics are saved, not trained.
# - Put an activation function between layers. Sigmoids make gradients vanish
#   in deep stacks; ReLU with Kaiming initialisation keeps them.
# - ``model.train()`` and ``model.eval()`` switch Dropout and BatchNorm between
#   their two behaviours; they do not touch autograd. Predict with
#   ``model.eval()`` and ``torch.inference_mode()``.
# - ``model.to(device)`` moves the model in place; ``tensor.to(...)`` returns
#   a new tensor, or the same one when nothing changes: assign the result.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_08_gradients_by_hand.py` checks that
# the gradients autograd computes are right.

# %%
# Exercises
# ---------
#
# Exercise 1 ★: predict what .to() returns
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then change the line that
# makes ``u`` so that writing into ``u`` leaves ``t`` alone.
#
# .. code-block:: python
#
#    t = torch.ones(3)
#    u = t.to(torch.float32)
#    v = t.to(torch.float64)
#    u[0] = 5
#    print(t, v)
#
# .. solution::
#
#    Solution
#
#    ``t`` is already float32, so ``u`` is ``t`` itself and writing into it
#    changes ``t``; ``v`` is a new float64 tensor made before the write. With
#    ``copy=True``, ``.to()`` always returns a new tensor.

t = torch.ones(3)
u = t.to(torch.float32)
v = t.to(torch.float64)
u[0] = 5
print(t, v)
assert u is t
assert t.tolist() == [5.0, 1.0, 1.0]
assert v.tolist() == [1.0, 1.0, 1.0]
t = torch.ones(3)
u = t.to(torch.float32, copy=True)
u[0] = 5
print(t)
assert t.tolist() == [1.0, 1.0, 1.0]

# %%
# Exercise 2 ★★: a prediction that changes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# This function, copied from a training script, returns different outputs
# when called twice on the same input, and its result requires gradients. Fix
# it, and check both.
#
# .. code-block:: python
#
#    def predict(model, inputs):
#        model.train()
#        return model(inputs)
#
# .. solution::
#
#    Solution
#
#    Dropout draws a new mask at every call in training mode. Switch to
#    evaluation mode and run the forward pass under ``torch.inference_mode()``.


def predict(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.inference_mode():
        return model(inputs)


model.cpu()
first, second = predict(model, x), predict(model, x)
print("equal:", torch.equal(first, second), "| grad:", first.requires_grad)
assert torch.equal(first, second)
assert not first.requires_grad

# %%
# Exercise 3 ★★: tanh and vanishing gradients
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The slope of tanh is 1 at 0, four times the sigmoid's best. Predict where a
# stack of 10 tanh layers lands between the sigmoid and the ReLU stacks with
# Kaiming initialisation, then measure it with ``gradient_norms``.
#
# .. solution::
#
#    Solution
#
#    The first layer's gradient falls in between, far above the sigmoid's.

tanh = gradient_norms(nn.Tanh)
print(f"tanh: first layer {tanh[0]:.1e}, last {tanh[-1]:.1e}")
assert norms["sigmoid"][0] < tanh[0] < norms["ReLU, Kaiming"][0]
