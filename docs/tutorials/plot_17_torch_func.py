"""
Function transforms with torch.func
===================================

``loss.backward()`` differentiates one number, the loss reduced over the batch
(a mean by default), and adds the result into the ``.grad`` of every parameter.
``torch.func`` offers another way: transforms that take a function and return a
new function, such as its gradient, its batched version or its Jacobian.

After reading this page you will be able to:

* get gradients as functions with ``torch.func.grad``;
* run a function written for one sample over a batch with ``torch.func.vmap``;
* compute Jacobians with ``jacrev`` and ``jacfwd``, and choose the cheaper one;
* compose them into what ``backward()`` cannot give: the gradient of each
  sample.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# grad: the gradient as a function
# --------------------------------
#
# ``grad(f)`` is a new function that returns the gradient of ``f`` with respect
# to its first argument; ``f`` must return a tensor with a single value and no
# dimensions, such as a loss. ``grad`` writes no ``.grad`` and needs no
# ``requires_grad``, and ``grad(grad(f))`` is the second derivative. Here
# ``f(x) = x * sin(x)``, whose derivatives we know in closed form.

import torch
from torch.func import grad

if torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")
torch.manual_seed(0)


def f(x):
    return x * torch.sin(x)


x = torch.tensor(1.5, device=device)
first = torch.sin(x) + x * torch.cos(x)  # the closed forms
second = 2 * torch.cos(x) - x * torch.sin(x)
print(f"f'(x)  = {grad(f)(x):.5f}, closed form {first:.5f}")
print(f"f''(x) = {grad(grad(f))(x):.5f}, closed form {second:.5f}")

# %%
# A loss is a function of the parameters *and* the data; ``grad`` turns it into
# a function that returns the gradient with respect to the parameters, or, with
# ``argnums``, another argument.


def squared_error(w, x, y):
    # The loss of a linear model without bias on one sample.
    return (x @ w - y) ** 2


w = torch.tensor([0.5, -1.0], device=device)
sample = torch.tensor([1.0, 2.0], device=device)
target = torch.tensor(3.0, device=device)
print("d loss / d w:", grad(squared_error)(w, sample, target))
print("d loss / d x:", grad(squared_error, argnums=1)(w, sample, target))

# %%
# vmap: a batch without a loop
# ----------------------------
#
# ``squared_error`` is written for one sample. ``vmap`` runs it over a batch as
# if in a loop, but as one batched computation. ``in_dims`` says which
# dimension of each argument is the batch: ``None`` for the weights, which all
# samples share, and ``0`` for the data.

from torch.func import vmap

X = torch.randn(6, 2, device=device)
noise = 0.5 * torch.randn(6, device=device)
y = X @ torch.tensor([3.0, 1.0], device=device) + 4 + noise
batched = vmap(squared_error, in_dims=(None, 0, 0))(w, X, y)
looped = torch.stack([squared_error(w, X[i], y[i]) for i in range(len(X))])
print("same as the loop:", torch.allclose(batched, looped))

# %%
# Transforms compose: ``vmap(grad(squared_error))`` is the gradient of *each*
# sample's loss. ``backward()`` differentiates the reduced loss, here the mean,
# and leaves one gradient for the batch, the mean of the six.

per_sample = vmap(grad(squared_error), in_dims=(None, 0, 0))(w, X, y)
w_param = w.clone().requires_grad_()
vmap(squared_error, in_dims=(None, 0, 0))(w_param, X, y).mean().backward()
same = torch.allclose(per_sample.mean(0), w_param.grad)
print(f"per-sample gradients {tuple(per_sample.shape)}, mean == .grad: {same}")

# %%
# jacrev and jacfwd: two ways to a Jacobian
# -----------------------------------------
#
# For a function from ``n`` inputs to ``m`` outputs, the Jacobian is the ``m x
# n`` matrix of all partial derivatives. ``jacrev`` builds it in reverse mode,
# one row per vector-Jacobian product (what ``backward`` computes); ``jacfwd``
# in forward mode, one column per Jacobian-vector product.

from torch.func import hessian, jacfwd, jacrev


def tanh_layer(v, matrix):
    return torch.tanh(matrix @ v)


v = torch.tensor([0.3, -0.7], device=device)
W = torch.randn(3, 2, device=device)
# diag(1 - tanh(W v)**2) @ W, written with broadcasting
closed_form = (1 - torch.tanh(W @ v) ** 2).unsqueeze(1) * W
print("jacrev:", torch.allclose(jacrev(tanh_layer)(v, W), closed_form))
print("jacfwd:", torch.allclose(jacfwd(tanh_layer)(v, W), closed_form))

# %%
# They differ in cost. Reverse mode needs ``m`` products and forward mode
# ``n``, so ``jacrev`` is cheaper for a *wide* function (many inputs, few
# outputs, like a loss of many parameters) and ``jacfwd`` for a *tall* one.
# ``torch.utils.benchmark.Timer`` measures both: it repeats the call, and on a
# CUDA GPU waits for the device to finish. The ratio is what matters.

from torch.utils.benchmark import Timer


def milliseconds(function, *args):
    timer = Timer("f(*args)", globals={"f": function, "args": args})
    return 1e3 * timer.blocked_autorange(min_run_time=0.1).median


for m, n in ((4, 2000), (2000, 4)):
    matrix = torch.randn(m, n, device=device)
    inputs = torch.randn(n, device=device)
    rev = milliseconds(jacrev(tanh_layer), inputs, matrix)
    fwd = milliseconds(jacfwd(tanh_layer), inputs, matrix)
    print(f"{n} inputs, {m} outputs: jacrev {rev:.2f} ms, jacfwd {fwd:.2f} ms")

# %%
# A Hessian, the matrix of second derivatives of a function with a single
# output, is the Jacobian of its gradient: ``torch.func.hessian(f)`` is
# ``jacfwd(jacrev(f))``. For ``sum(tanh(W v))`` its closed form is ``W.T @
# diag(-2 t (1 - t**2)) @ W`` with ``t = tanh(W v)``.


def tanh_sum(v):
    return torch.tanh(W @ v).sum()


t = torch.tanh(W @ v)
closed_form = W.T @ torch.diag(-2 * t * (1 - t**2)) @ W
print("hessian:", torch.allclose(hessian(tanh_sum)(v), closed_form))

# %%
# The transforms also work through a custom ``torch.autograd.Function``, like
# the one of :ref:`sphx_glr_auto_tutorials_plot_16_custom_autograd.py`, if it
# says how: ``generate_vmap_rule = True`` for ``vmap``, and a ``jvp`` method
# for forward mode, which :class:`pttour.SoftplusFunction` adds.
#
# Per-sample gradients of a model
# -------------------------------
#
# Some methods need each sample's gradient: differentially private training
# clips each one before averaging. ``torch.func.functional_call`` runs the
# model with parameters you pass in, which makes it a function of them;
# ``grad`` differentiates the loss of one sample, and ``vmap`` maps it over
# the batch.

from torch import nn
from torch.func import functional_call

X = torch.randn(32, 2, device=device)
noise = 0.5 * torch.randn(32, 1, device=device)
y = X @ torch.tensor([[3.0], [1.0]], device=device) + 4 + noise
model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
loss_fn = nn.MSELoss()
params = {name: p.detach() for name, p in model.named_parameters()}


def sample_loss(params, sample, target):
    batch_of_one = sample.unsqueeze(0)
    output = functional_call(model, params, (batch_of_one,))
    return loss_fn(output, target.unsqueeze(0))


per_sample_fn = vmap(grad(sample_loss), in_dims=(None, 0, 0))
per_sample = per_sample_fn(params, X, y)
model.zero_grad()
loss_fn(model(X), y).backward()
for name, p in model.named_parameters():
    shape = tuple(per_sample[name].shape)
    same = torch.allclose(per_sample[name].mean(0), p.grad, atol=1e-6)
    print(f"{name:9} {shape!s:12} mean over the batch == .grad: {same}")

# %%
# Each tensor has the batch size in front of the parameter's shape.
# :func:`pttour.per_sample_gradients` is the tested version of this recipe; it
# also refuses models whose samples are not independent (Exercise 3 shows
# one).

import pttour

tested = pttour.per_sample_gradients(model, loss_fn, X, y)
same = all(torch.allclose(tested[n], per_sample[n]) for n in per_sample)
print("same as pttour:", same)

# %%
# The obvious alternative is a Python loop with one backward pass per sample;
# the figure times it against ``vmap``.

import matplotlib.pyplot as plt

weights = list(model.parameters())


def loop_gradients(inputs, targets):
    for i in range(len(inputs)):  # one forward and one backward per sample
        loss = loss_fn(model(inputs[i : i + 1]), targets[i : i + 1])
        torch.autograd.grad(loss, weights)


sizes = [8, 16, 32, 64, 128]
vmap_ms, loop_ms = [], []
for size in sizes:
    inputs = torch.randn(size, 2, device=device)
    targets = torch.randn(size, 1, device=device)
    vmap_ms.append(milliseconds(per_sample_fn, params, inputs, targets))
    loop_ms.append(milliseconds(loop_gradients, inputs, targets))

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(sizes, loop_ms, "o-", label="for")
ax.plot(sizes, vmap_ms, "s-", label="vmap")
ax.set_xlabel("n")
ax.set_ylabel("t (ms)")
ax.set_ylim(bottom=0)
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
# .. figure-caption::
#
#    Time ``t`` in milliseconds to compute the per-sample gradients of a batch
#    of ``n`` samples: with a Python loop, one backward pass per sample
#    (``for``), and with ``vmap(grad(...))`` (``vmap``).
#
# The loop's time grows in proportion to the batch size; the batched
# computation's much more slowly, since each step processes the whole batch.
#
# Takeaways
# ---------
#
# - ``grad(f)`` is the gradient of ``f`` as a function; ``f`` returns a scalar.
# - ``vmap`` turns a function of one sample into a function of a batch.
# - ``vmap(grad(loss))`` gives per-sample gradients; ``backward()`` cannot.
# - ``jacrev`` for few outputs, ``jacfwd`` for few inputs, ``hessian`` for
#   second derivatives.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_18_mixed_precision.py` trains in
# 16-bit floating point.
#
# Exercises
# ---------
#
# Exercise 1 ★: predict what grad says to a one-element vector
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# ``backward()`` accepts an output with exactly one element, whatever its
# shape. Without running it, predict what this prints; then make ``grad``
# accept the function.
#
# .. code-block:: python
#
#    def doubled_sum(t):
#        return (t * 2).sum().reshape(1)  # shape (1,)
#
#
#    print(grad(doubled_sum)(torch.ones(2)))
#
# .. solution::
#
#    Solution
#
#    ``grad`` refuses it: it wants a tensor without dimensions, such as a loss.
#    Remove the dimension with ``.squeeze()``, or reduce with ``.sum()``.


import textwrap


def doubled_sum(t):
    return (t * 2).sum().reshape(1)  # shape (1,)


try:
    grad(doubled_sum)(torch.ones(2))
except RuntimeError as err:
    message = str(err).split(". ")[0]  # its first sentence
    print(textwrap.fill(f"RuntimeError: {message}", 79))
gradient = grad(lambda t: doubled_sum(t).squeeze())(torch.ones(2))
print(gradient)
assert "Expected f(*args) to return a scalar Tensor" in message
assert torch.equal(gradient, torch.tensor([2.0, 2.0]))

# %%
# Exercise 2 ★★: random numbers inside vmap
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Should each sample get its own random numbers, or should all share the same?
# Run ``vmap`` over ``noisy``, a dropout in training mode, on four rows of
# ones; read the error, then get one dropout mask per row, and one mask shared
# by all rows.
#
# .. code-block:: python
#
#    def noisy(x):
#        return nn.functional.dropout(x, p=0.5, training=True)
#
# .. solution::
#
#    Solution
#
#    Rather than guess, ``vmap`` refuses random operations by default.
#    ``randomness="different"`` gives each row its own mask, as a loop would;
#    ``randomness="same"`` gives all rows one mask.


def noisy(x):
    return nn.functional.dropout(x, p=0.5, training=True)


torch.manual_seed(0)
ones = torch.ones(4, 3)
try:
    vmap(noisy)(ones)
except RuntimeError as err:
    message = str(err).split(". ")[0]
    print(f"RuntimeError: {message}")
different = vmap(noisy, randomness="different")(ones)
same = vmap(noisy, randomness="same")(ones)
print(different, same, sep="\n")
assert "randomness error mode" in message
assert all(torch.equal(row, same[0]) for row in same)
assert not all(torch.equal(row, different[0]) for row in different)

# %%
# Exercise 3 ★★: batch norm mixes the samples
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A per-sample gradient only means something if each sample's loss depends on
# that sample alone. Build ``nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8),
# nn.Linear(8, 1))``, change sample 1 of ``X``, and see whether the output for
# sample 0 changes, in training mode and in evaluation mode. What does
# :func:`pttour.per_sample_gradients` do with the model in each mode?
#
# .. solution::
#
#    Solution
#
#    In training mode batch norm normalises each feature with the mean and
#    variance of the *batch*, so sample 1 changes the output for sample 0, and
#    :func:`pttour.per_sample_gradients` refuses the model. In evaluation mode
#    it uses its running statistics, and the samples are independent again. To
#    train with per-sample gradients, normalise within each sample
#    (``nn.GroupNorm``, ``nn.LayerNorm``).

torch.manual_seed(0)
bn_model = nn.Sequential(
    nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)
).to(device)
changed = X.clone()
changed[1] += 1.0
for mode in ("train", "eval"):
    getattr(bn_model, mode)()
    with torch.no_grad():
        before, after = bn_model(X)[0].item(), bn_model(changed)[0].item()
    try:
        pttour.per_sample_gradients(bn_model, loss_fn, X, y)
        verdict = "computed"
    except ValueError:
        verdict = "refused"
    change = f"{before:.4f} -> {after:.4f}"
    print(f"{mode}: output 0 {change}, per-sample gradients {verdict}")
    assert (before != after) == (mode == "train")
    assert verdict == ("refused" if mode == "train" else "computed")
