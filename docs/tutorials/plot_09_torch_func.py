"""
Function transforms with torch.func
===================================

``loss.backward()`` is one way to get a gradient: it differentiates one number and adds the
result into the ``.grad`` of every parameter, summed over the whole batch. ``torch.func``
offers another: transforms that take a function and return a new function, such as its
gradient, its batched version or its Jacobian. Composing them answers questions that
``backward()`` cannot, such as the gradient of each sample of a batch. After this tutorial
you will be able to:

* get gradients as functions with ``torch.func.grad``, and differentiate them again;
* run a function written for one sample over a whole batch with ``torch.func.vmap``;
* compute Jacobians with ``torch.func.jacrev`` and ``torch.func.jacfwd``, and choose the
  cheaper one;
* compute per-sample gradients of a model with :func:`pttour.per_sample_gradients`, and
  check them against :func:`pttour.per_sample_gradients_loop`;
* avoid the usual traps of ``vmap``: randomness, in-place operations and batch norm.
"""

# %%
# Setting up
# ----------
#
# We pick the device once and seed the random number generator, so that every number
# printed on this page is the same on every build.
#
# The helper below silences one warning and nothing else. PyTorch 2.13 warns that
# ``torch.jit.script`` is deprecated the first time a process uses forward-mode
# differentiation (``jacfwd``, ``jvp``, ``hessian``), because it still uses that function
# internally. The warning is about PyTorch's own code, not ours, so we hide exactly that
# message around the forward-mode calls.

import contextlib
import warnings
from collections.abc import Iterator

import torch

import pttour

device = pttour.pick_device()
torch.manual_seed(0)
print(f"device: {device}")


@contextlib.contextmanager
def quiet_forward_mode() -> Iterator[None]:
    """Hide the DeprecationWarning that torch 2.13 raises from inside forward-mode AD."""
    with warnings.catch_warnings():
        # Raised by torch's own decompositions on the first jvp of a process; not our code.
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
        )
        yield


# %%
# grad: the gradient as a function
# --------------------------------
#
# ``grad(f)`` is a new function that returns the gradient of ``f``, which must return a
# single number. It writes no ``.grad`` and needs no ``requires_grad``, and because the
# result is again a function, ``grad(grad(f))`` is the second derivative. Here
# ``f(x) = x * sin(x)``, whose derivatives we know in closed form.

from torch.func import grad


def f(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sin(x)


x = torch.tensor(1.5, dtype=torch.float64, device=device)
first_closed = torch.sin(x) + x * torch.cos(x)
second_closed = 2 * torch.cos(x) - x * torch.sin(x)
print(f"f'(x)  = {grad(f)(x).item():.6f}   closed form {first_closed.item():.6f}")
print(f"f''(x) = {grad(grad(f))(x).item():.6f}   closed form {second_closed.item():.6f}")

# %%
# A function of several arguments is differentiated with respect to the first one unless
# ``argnums`` says otherwise. A loss is naturally a function of the parameters *and* the
# data; ``grad`` makes it a function that returns the gradient with respect to the
# parameters.


def squared_error(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss of a linear model without bias on a single sample."""
    return (x @ w - y) ** 2


w = torch.tensor([0.5, -1.0], device=device)
sample, target = torch.tensor([1.0, 2.0], device=device), torch.tensor(3.0, device=device)
print("d loss / d w:", grad(squared_error)(w, sample, target).tolist())
print("d loss / d x:", grad(squared_error, argnums=1)(w, sample, target).tolist())

# %%
# vmap: a batch without a loop
# ----------------------------
#
# ``squared_error`` is written for one sample. ``vmap`` runs it over a batch as if in a
# loop, but as one batched computation. ``in_dims`` says which dimension of each argument
# is the batch: ``None`` for the weights, which all samples share, and ``0`` for the data.

from torch.func import vmap

X, y = pttour.linear_data(6, noise_std=0.5)
X, y = X.to(device), y.squeeze(1).to(device)

batched = vmap(squared_error, in_dims=(None, 0, 0))(w, X, y)
looped = torch.stack([squared_error(w, X[i], y[i]) for i in range(len(X))])
print("batched:", [round(v, 3) for v in batched.tolist()])
print("same as the loop:", torch.allclose(batched, looped))

# %%
# Transforms compose. ``vmap(grad(squared_error))`` is the gradient of *each* sample's loss,
# the per-sample gradients that ``backward()`` cannot give: it only ever sees the sum. Their
# mean is exactly the gradient of the mean loss.

per_sample = vmap(grad(squared_error), in_dims=(None, 0, 0))(w, X, y)
batch_gradient = grad(lambda w: vmap(squared_error, in_dims=(None, 0, 0))(w, X, y).mean())(w)
print("per-sample gradients:", tuple(per_sample.shape))
print("their mean equals the batch gradient:", torch.allclose(per_sample.mean(0), batch_gradient))

# %%
# The transforms also work through a custom ``torch.autograd.Function`` written in the style
# of :ref:`sphx_glr_auto_tutorials_plot_08_custom_autograd.py`. :func:`pttour.softplus`
# calls :class:`pttour.SoftplusFunction`, whose ``generate_vmap_rule = True`` lets ``vmap``
# batch it; its derivative is ``sigmoid``.

points = torch.linspace(-3, 3, 7, dtype=torch.float64, device=device)
slopes = vmap(grad(pttour.softplus))(points)
print("vmap(grad(softplus)) = sigmoid:", torch.allclose(slopes, torch.sigmoid(points)))

# %%
# jacrev and jacfwd: two ways to a Jacobian
# -----------------------------------------
#
# For a function from ``n`` inputs to ``m`` outputs, the Jacobian is the ``m x n`` matrix of
# all partial derivatives. ``jacrev`` builds it with reverse mode, one row per
# vector-Jacobian product (what ``backward`` computes); ``jacfwd`` builds it with forward
# mode, one column per Jacobian-vector product. Both batch their products with ``vmap`` and
# give the same matrix.

from torch.func import jacfwd, jacrev

W = torch.randn(3, 2, dtype=torch.float64, device=device)


def layer(v: torch.Tensor) -> torch.Tensor:
    return torch.tanh(W @ v)


v = torch.tensor([0.3, -0.7], dtype=torch.float64, device=device)
reverse = jacrev(layer)(v)
with quiet_forward_mode():
    forward = jacfwd(layer)(v)
closed_form = (1 - torch.tanh(W @ v) ** 2).unsqueeze(1) * W
print("Jacobian shape:", tuple(reverse.shape))
print("jacrev == jacfwd:", torch.allclose(reverse, forward))
print("matches diag(1 - tanh^2) @ W:", torch.allclose(reverse, closed_form))

# %%
# They differ in cost. Reverse mode needs ``m`` products and forward mode ``n``, so
# ``jacrev`` is cheaper for a *wide* function (many inputs, few outputs, like a loss of
# many parameters) and ``jacfwd`` for a *tall* one (few inputs, many outputs). We time both
# on a function with 2000 inputs and 4 outputs, and on one with 4 inputs and 2000 outputs.
# Absolute times depend on the machine; the ratio is what matters.

import time
from functools import partial


def best_time(function, repeats: int = 3) -> float:
    """The fastest of a few runs, in seconds (the minimum is the least noisy estimate)."""
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()  # CUDA runs asynchronously; wait before reading the clock
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def tanh_layer(v: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    return torch.tanh(matrix @ v)


# jacrev and jacfwd differentiate with respect to the first argument, v.
matrices = {
    "wide (2000 -> 4)": torch.randn(4, 2000, device=device),
    "tall (4 -> 2000)": torch.randn(2000, 4, device=device),
}
with quiet_forward_mode():
    for name, matrix in matrices.items():
        inputs = torch.randn(matrix.shape[1], device=device)
        rev = best_time(partial(jacrev(tanh_layer), inputs, matrix))
        fwd = best_time(partial(jacfwd(tanh_layer), inputs, matrix))
        faster = "jacrev" if rev < fwd else "jacfwd"
        print(f"{name}: jacrev {rev * 1e3:6.2f} ms, jacfwd {fwd * 1e3:6.2f} ms -> {faster}")

# %%
# A Hessian is the Jacobian of a gradient, a square ``n x n`` matrix.
# ``torch.func.hessian`` computes it as ``jacfwd(jacrev(f))``: reverse mode for the gradient
# of the single output, then forward mode over it. For ``sum(softplus(x))`` it is diagonal,
# with ``sigmoid(x) * (1 - sigmoid(x))`` on the diagonal; forward mode goes through the
# ``jvp`` method of :class:`pttour.SoftplusFunction`.

from torch.func import hessian

x = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64, device=device)
with quiet_forward_mode():
    H = hessian(lambda x: pttour.softplus(x).sum())(x)
print(H)
print(
    "diagonal = sigmoid * (1 - sigmoid):",
    torch.allclose(H.diag(), torch.sigmoid(x) * torch.sigmoid(-x)),
)

# %%
# Per-sample gradients of a model
# -------------------------------
#
# Some methods need each sample's gradient separately: differentially private training
# clips each one before averaging, and influence estimates and gradient-noise statistics
# compare them. :func:`pttour.per_sample_gradients` computes them for any model with the
# recipe above: ``torch.func.functional_call`` turns the model into a pure function of its
# parameters, ``grad`` differentiates the loss of one sample, and ``vmap`` maps it over the
# batch. :func:`pttour.per_sample_gradients_loop` is the slow, obvious reference, with one
# backward pass per sample. They must agree.

from torch import nn

X, y = pttour.linear_data(32, noise_std=0.5)
X, y = X.to(device), y.to(device)
model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
loss_fn = nn.MSELoss()

fast = pttour.per_sample_gradients(model, loss_fn, X, y)
slow = pttour.per_sample_gradients_loop(model, loss_fn, X, y)
for name, gradients in fast.items():
    difference = (gradients - slow[name]).abs().max().item()
    print(f"{name:<9} shape {tuple(gradients.shape)!s:<13} max |vmap - loop| = {difference:.1e}")

# %%
# Each tensor has the batch size in front of the parameter's shape. With a mean-reduced
# loss, the mean over the batch is the gradient that ``loss.backward()`` leaves in
# ``.grad``, which neither function touches.

model.zero_grad()
loss_fn(model(X), y).backward()
matches = [
    torch.allclose(fast[name].mean(0), p.grad, atol=1e-6) for name, p in model.named_parameters()
]
print("mean of per-sample gradients == .grad:", all(matches))

# %%
# The samples do not contribute equally: the norm of each sample's whole gradient, over all
# parameters, differs from sample to sample within this one batch. Differentially private
# training bounds each sample's influence by clipping its gradient to a fixed norm.

norms = torch.cat([g.flatten(1) for g in fast.values()], dim=1).norm(dim=1)
print(f"per-sample gradient norms: min {norms.min():.3f}, max {norms.max():.3f}")
print(f"median: {norms.median():.3f}")

# %%
# Both functions give the same numbers, but the loop runs one forward and one backward pass
# per sample from Python, while ``vmap`` runs one batched computation. The figure times
# both for batch sizes from 8 to 128.

import matplotlib.pyplot as plt

batch_sizes = [8, 16, 32, 64, 128]
vmap_ms, loop_ms = [], []
for size in batch_sizes:
    inputs = torch.randn(size, 2, device=device)
    targets = torch.randn(size, 1, device=device)
    batch = (model, loss_fn, inputs, targets)
    vmap_ms.append(1e3 * best_time(partial(pttour.per_sample_gradients, *batch), repeats=5))
    loop_ms.append(1e3 * best_time(partial(pttour.per_sample_gradients_loop, *batch), repeats=5))
print("batch sizes:", batch_sizes)
print("vmap (ms):  ", [round(t, 2) for t in vmap_ms])
print("loop (ms):  ", [round(t, 2) for t in loop_ms])

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(batch_sizes, loop_ms, "o-", label="per_sample_gradients_loop")
ax.plot(batch_sizes, vmap_ms, "s-", label="per_sample_gradients (vmap)")
ax.set_xticks(batch_sizes, [str(b) for b in batch_sizes])
ax.set_xlabel("batch size")
ax.set_ylabel("time (ms), best of 5")
ax.set_ylim(bottom=0)
ax.set_title(f"Per-sample gradients on {device.type}: vmap vs a Python loop")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
# The loop's time grows in proportion to the batch size; the batched computation's grows
# much more slowly, because each of its steps processes the whole batch at once.
#
# Pitfalls reproduced live
# ------------------------
#
# Pitfall: randomness inside vmap
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Under ``vmap``, should each sample get its own random numbers, or should all share the
# same? Rather than guess, ``vmap`` refuses random operations by default. Dropout in
# training mode is the usual culprit.

samples = torch.ones(4, 3, device=device)


def noisy(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.dropout(x, p=0.5, training=True)


try:
    vmap(noisy)(samples)
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# The fix is to say what you mean: ``randomness="different"`` gives each sample its own
# mask, as a loop would; ``randomness="same"`` gives all samples one mask.

print(vmap(noisy, randomness="different")(samples))
print(vmap(noisy, randomness="same")(samples))

# %%
# :func:`pttour.per_sample_gradients` refuses a model whose dropout is active and says what
# to do: call ``model.eval()``, or use the loop, which draws a new mask per sample.

dropout_model = nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.2), nn.Linear(16, 1)).to(device)
try:
    pttour.per_sample_gradients(dropout_model, loss_fn, X, y)
except ValueError as err:
    print(f"ValueError: {err}")
dropout_model.eval()
eval_gradients = pttour.per_sample_gradients(dropout_model, loss_fn, X, y)
print("after eval():", {name: tuple(g.shape) for name, g in eval_gradients.items()})

# %%
# Pitfall: in-place operations
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Inside ``vmap``, the argument is batched but a tensor the function creates from scratch
# is not. Writing a batched value into it in place would need a batch dimension it does not
# have, so ``vmap`` fails.


def accumulate(x: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(3, device=x.device)
    total += x  # in place: ``total`` has no batch dimension
    return total


try:
    vmap(accumulate)(torch.randn(4, 3, device=device))
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# The fix is an out-of-place operation, which creates a new, batched tensor, or a buffer made
# from the argument with ``torch.zeros_like(x)``, which is batched like ``x``.


def accumulate_fixed(x: torch.Tensor) -> torch.Tensor:
    total = torch.zeros_like(x)
    total += x  # fine: ``total`` is batched like ``x``
    return total


print(vmap(accumulate_fixed)(torch.randn(4, 3, device=device)).shape)

# %%
# Pitfall: batch norm mixes the samples
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# In training mode, batch norm normalises each feature with the mean and variance of the
# *batch*, so every sample's output depends on the other samples. Changing sample 1 changes
# the output for sample 0:

bn_model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)).to(device)
changed = X.clone()
changed[1] += 1.0
with torch.no_grad():
    before, after = bn_model(X)[0].item(), bn_model(changed)[0].item()
print(f"train mode: output 0 was {before:.4f}, is {after:.4f} after changing sample 1")

# %%
# A sample's loss is then not a function of that sample alone, so its "own" gradient is not
# defined. :func:`pttour.per_sample_gradients` and :func:`pttour.per_sample_gradients_loop`
# refuse such a model instead of returning numbers that mean nothing.

try:
    pttour.per_sample_gradients(bn_model, loss_fn, X, y)
except ValueError as err:
    print(f"ValueError: {err}")

# %%
# In evaluation mode batch norm uses its stored running statistics, each sample is
# normalised on its own, and per-sample gradients are defined again. For training with
# per-sample gradients, use a normalisation that works within one sample, such as
# ``nn.GroupNorm`` or ``nn.LayerNorm``.

bn_model.eval()
with torch.no_grad():
    before, after = bn_model(X)[0].item(), bn_model(changed)[0].item()
print(f"eval mode: output 0 was {before:.4f}, is {after:.4f} after changing sample 1")
grads = pttour.per_sample_gradients(bn_model, loss_fn, X, y)
print({name: tuple(g.shape) for name, g in grads.items()})

# %%
# Takeaways
# ---------
#
# - ``torch.func.grad(f)`` returns the gradient of ``f`` as a function; it composes, so
#   ``grad(grad(f))`` is a second derivative, and it never writes ``.grad``.
# - ``vmap`` turns a function of one sample into a function of a batch; ``in_dims`` marks the
#   batched arguments.
# - ``jacrev`` costs one backward pass per output and ``jacfwd`` one forward-mode pass per
#   input: use ``jacrev`` for few outputs, ``jacfwd`` for few inputs, and ``hessian`` for
#   second derivatives.
# - Inside ``vmap``, choose the randomness explicitly, avoid writing batched values in place
#   into tensors created from scratch, and keep samples independent: no batch norm in
#   training mode.
# - The library packages per-sample gradients: :func:`pttour.per_sample_gradients` (one
#   batched pass) and :func:`pttour.per_sample_gradients_loop` (the reference loop).
#
# Previous: :ref:`sphx_glr_auto_tutorials_plot_08_custom_autograd.py` writes the custom
# function that the transforms above differentiate.
