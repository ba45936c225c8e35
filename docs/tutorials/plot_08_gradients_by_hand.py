"""
Checking gradients by hand
==========================

Autograd computes a gradient from the derivative rule of every operation it
recorded. A gradient check measures the same gradient a second way, from the
loss alone: nudge one number, watch how much the loss moves, and compare. This
page writes that check in plain PyTorch, first for one number, then for every
parameter of a model. After reading this page you will be able to:

- estimate a derivative by a central difference, in float64;
- compute the numerical gradient of a loss, one parameter element at a time;
- compare it with autograd's gradient for every parameter of a model, by name.

**What you need:** PyTorch ≥ 2.6, NumPy, matplotlib and pttour. The
`installation page <https://pttour.github.io/pttour/en/install.html>`_ shows
how to install them.
"""

# %%
# Measuring a slope
# -----------------
#
# The derivative of a function ``f`` at ``x`` is the slope of ``f`` there.
# Evaluate ``f`` a small step ``eps`` to each side and divide the rise by the
# run: that is the *central difference* ``(f(x + eps) - f(x - eps)) / (2 *
# eps)``. The *forward difference* ``(f(x + eps) - f(x)) / eps`` looks simpler,
# but its error shrinks only in proportion to ``eps``, the central
# difference's like ``eps**2``. For ``x**3`` at 2 the exact slope is 12:

import torch

x = torch.tensor(2.0, dtype=torch.float64)
for eps in (1e-2, 1e-4, 1e-6):
    forward = ((x + eps) ** 3 - x**3) / eps
    central = ((x + eps) ** 3 - (x - eps) ** 3) / (2 * eps)
    print(f"eps={eps:.0e}: forward off by {forward - 12:.1e}, ", end="")
    print(f"central off by {central - 12:.1e}")

# %%
# We compute in float64: ``f(x + eps)`` and ``f(x - eps)`` share most of their
# digits, and their difference keeps the rest: float64 has about 16, float32
# about 7, too few for a step of ``1e-6``
# (:ref:`sphx_glr_auto_tutorials_plot_09_gradcheck.py` measures it).
#
# One weight of a model
# ---------------------
#
# A loss is a function of every parameter element. Its derivative with respect
# to one element, the others held fixed, is one entry of that parameter's
# ``.grad``. Here is a one-layer model in float64, with targets on the plane
# ``y = 3*x1 + x2``; ``backward()`` fills the ``.grad`` of its weight and bias,
# as :ref:`sphx_glr_auto_tutorials_plot_05_autograd_training.py` showed.

from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc1(x)


torch.manual_seed(0)
net = Net().double()
inputs = torch.rand(100, 2, dtype=torch.float64)
targets = inputs @ torch.tensor([[3.0], [1.0]], dtype=torch.float64)
loss_fn = nn.MSELoss()
loss_fn(net(inputs), targets).backward()
print("autograd, weight:", net.fc1.weight.grad)

# %%
# To measure the first entry, we set the first weight to another value, compute
# the loss, and put the weight back. The change happens under
# ``torch.no_grad()``, so autograd does not record it.

weight = net.fc1.weight
w0 = weight[0, 0].item()


def loss_with_w0(value: float) -> float:
    # The loss with the first weight set to value, the rest unchanged.
    with torch.no_grad():
        weight[0, 0] = value
        loss = loss_fn(net(inputs), targets).item()
        weight[0, 0] = w0
    return loss


eps = 1e-6
slope = (loss_with_w0(w0 + eps) - loss_with_w0(w0 - eps)) / (2 * eps)
print(f"central difference: {slope:.8f}")
print(f"autograd:           {weight.grad[0, 0].item():.8f}")

import matplotlib.pyplot as plt

grid = torch.linspace(w0 - 2, w0 + 2, 81, dtype=torch.float64).tolist()
fig, ax = plt.subplots(figsize=(6, 3.5))
tangent = [loss_with_w0(w0) + slope * (v - w0) for v in grid]
ax.plot(grid, [loss_with_w0(v) for v in grid], label="L")
ax.plot(grid, tangent, "--", label="∂L/∂w₀")
ax.plot([w0], [loss_with_w0(w0)], "o", color="black")
ax.set(xlabel="w₀", ylabel="L")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
# .. figure-caption::
#
#    The loss L (solid curve) as the first weight w₀ moves, every other
#    parameter fixed, and the line through the current value (dot) with the
#    slope measured by the central difference (dashed): it touches the curve
#    there, as a derivative should.
#
# Every element of a parameter
# ----------------------------
#
# The same three steps, repeated for each element, give a tensor of partial
# derivatives with the parameter's shape: the numerical gradient. ``view(-1)``
# numbers the elements of any shape from 0, and shares the parameter's memory,
# so writing ``flat[i]`` changes the parameter itself.


def numerical_gradient(loss_of, param: torch.Tensor, eps: float = 1e-6):
    # d loss_of() / d param by central differences, element by element.
    grad = torch.zeros_like(param)
    flat, flat_grad = param.detach().view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            original = flat[i].item()
            flat[i] = original + eps
            up = loss_of().item()
            flat[i] = original - eps
            down = loss_of().item()
            flat[i] = original  # put the element back
            flat_grad[i] = (up - down) / (2 * eps)
    return grad


def loss_of_net() -> torch.Tensor:
    return loss_fn(net(inputs), targets)


print("numerical:", numerical_gradient(loss_of_net, net.fc1.weight))

# %%
# :func:`pttour.numerical_gradient` is the tested version of this function. It
# also restores the element when the loss raises, and refuses a float32 tensor.

import pttour

print("pttour:   ", pttour.numerical_gradient(loss_of_net, net.fc1.weight))

# %%
# Every parameter of a model
# --------------------------
#
# A check loops over ``named_parameters()``, so that each result has a name. A
# parameter without a gradient (frozen, or unused by the forward pass) is
# skipped, loudly: a ``.grad`` of ``None`` can also be a bug, such as a
# ``.detach()`` in the forward pass. ``torch.testing.assert_close`` compares
# shapes and dtypes, then passes when ``|actual - expected| <= atol + rtol *
# |expected|`` everywhere, or raises ``AssertionError`` naming the worst
# element. :ref:`sphx_glr_auto_tutorials_plot_09_gradcheck.py` explains the
# tolerances, those of pttour's checker.

for name, param in net.named_parameters():
    if param.grad is None:
        print(f"{name}: no gradient, skipped")
        continue
    numerical = numerical_gradient(loss_of_net, param)
    torch.testing.assert_close(param.grad, numerical, atol=1e-6, rtol=1e-4)
    largest = (param.grad - numerical).abs().max().item()
    print(f"{name} passed, largest difference {largest:.1e}")

# %%
# :func:`pttour.check_model_gradients` is the tested version of this loop. It
# reports every parameter, failing ones included, with the largest and mean
# difference, and leaves parameters, ``.grad`` and buffers as it found them.

print(pttour.check_model_gradients(net, loss_fn, inputs, targets))

# %%
# Takeaways
# ---------
#
# - The central difference ``(f(x + eps) - f(x - eps)) / (2 * eps)`` measures a
#   slope with an error that shrinks like ``eps**2``; compute it in float64.
# - A numerical gradient moves one parameter element at a time, under
#   ``torch.no_grad()``, and puts it back.
# - Check every parameter by name with ``named_parameters()``, compare with
#   ``torch.testing.assert_close``, and skip parameters whose ``.grad`` is
#   ``None``.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_09_gradcheck.py` checks a
# hand-written backward with PyTorch's own ``torch.autograd.gradcheck``.
#
# What the article got wrong
# --------------------------
#
# This page follows §4.3 "Gradient checking" of the article; the :doc:`/errata`
# page has the full entries.
#
# .. _erratum-e16:
#
# Erratum E16: Parameters before and after backward
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article prints the parameters before and after ``loss.backward()``, as if
# the backward pass changed them. Only ``optimizer.step()`` does:

layer = nn.Linear(2, 1).double()
before = layer.weight.detach().clone()
loss_fn(layer(inputs), targets).backward()
print("changed by backward():", not torch.equal(before, layer.weight))
torch.optim.SGD(layer.parameters(), lr=0.01).step()
print("changed by step():    ", not torch.equal(before, layer.weight))

# %%
# Print ``param.grad`` after ``backward()``, and compare the parameters around
# ``optimizer.step()`` (:ref:`all errata <e16>`).
#
# .. _erratum-e17:
#
# Erratum E17: isinstance check against torch.DoubleTensor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article asserts ``isinstance(param.grad, torch.DoubleTensor)``. That
# legacy type means "float64 *on the CPU*": another device fails it, as the
# ``meta`` device (in every build) shows:

for grad in (weight.grad, torch.ones(2, dtype=torch.float64, device="meta")):
    double = isinstance(grad, torch.DoubleTensor)
    print(f"{grad.type()}: isinstance {double}, dtype {grad.dtype}")

# %%
# Check ``param.grad.dtype == torch.float64``, which holds on any device
# (:ref:`all errata <e17>`).
#
# .. _erratum-e18:
#
# Erratum E18: A guard that does not guard
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article tests ``param.grad is not None`` only around its type check, then
# calls ``param.grad.detach()`` for every parameter:

frozen = nn.Linear(2, 1).double()
frozen.weight.requires_grad_(False)
loss_fn(frozen(inputs), targets).backward()
try:
    frozen.weight.grad.detach()
except AttributeError as err:
    print(f"AttributeError: {err}")

# %%
# Skip such parameters first, as the loop of this page does (:ref:`all errata
# <e18>`).
#
# .. _erratum-e19:
#
# Erratum E19: A random array and a NumPy derivative
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says it computes the numerical derivative with NumPy; its only
# NumPy "gradient" is an unused array of random numbers of the right shape:

import numpy as np

noise = np.random.default_rng(0).normal(size=tuple(weight.grad.shape))
print("random array:", noise.round(4).tolist())
print("gradient:    ", weight.grad.numpy().round(4).tolist())

# %%
# Compute it from the loss, as ``numerical_gradient`` does (:ref:`all errata
# <e19>`).
#
# .. _erratum-e20:
#
# Erratum E20: Perturbing the inputs instead of the parameters
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# For its numerical gradient the article shifts *all the input data* by ``eps
# * i``, for each sample index ``i``:

per_sample = []
for i in range(len(inputs)):
    up = loss_fn(net(inputs + 1e-7 * i), targets).item()
    down = loss_fn(net(inputs - 1e-7 * i), targets).item()
    per_sample.append((up - down) / 2e-7)
print("first four values:", [round(v, 4) for v in per_sample[:4]])

# %%
# The values are ``i`` times a derivative with respect to the data, not a
# parameter's gradient. Perturb one parameter element at a time
# (:ref:`all errata <e20>`).
#
# .. _erratum-e21:
#
# Erratum E21: Comparing arrays of different shapes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article subtracts these 100 values from each gradient array: NumPy
# refuses for the weight, and broadcasts without a word for the bias:

try:
    weight.grad.numpy() - per_sample
except ValueError as err:
    print(f"ValueError: {str(err).strip()}")
print("bias:", (net.fc1.bias.grad.numpy() - per_sample).shape)

# %%
# Compare one value per element with ``assert_close``, which checks the shapes
# too (:ref:`all errata <e21>`).
#
# .. _erratum-e23:
#
# Erratum E23: param.name is None
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article names each checked parameter with ``param.name``:

for param in net.parameters():
    print(f"{param.name} passed the gradient check")

# %%
# Only the module knows its parameters' names: use ``named_parameters()``
# (:ref:`all errata <e23>`).
#
# .. _erratum-e46:
#
# Erratum E46: The loop checks parameters, not layers
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says it checks each layer's gradient; its loop runs over the
# parameters of its one layer:

print("layers:", [name for name, _ in net.named_children()])
print("parameters:", [name for name, _ in net.named_parameters()])

# %%
# Say "each parameter", what the optimizer updates (:ref:`all errata <e46>`).
#
# Exercises
# ---------
#
# Exercise 1 ★: predict a central difference
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints, with its large step; then
# change both ``** 2`` to ``** 3`` and predict again.
#
# .. code-block:: python
#
#    step = 0.5
#    print(((3 + step) ** 2 - (3 - step) ** 2) / (2 * step))
#
# .. solution::
#
#    Solution
#
#    The central difference of a quadratic is exact at any step; for ``x**3``
#    it is off by exactly ``step**2``.

step = 0.5
square = ((3 + step) ** 2 - (3 - step) ** 2) / (2 * step)
cube = ((3 + step) ** 3 - (3 - step) ** 3) / (2 * step)
print(square, cube)
assert (square, cube) == (6.0, 27 + step**2)

# %%
# Exercise 2 ★★: find the wrong hand-derived gradient
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Three formulas are proposed for the gradient of the mean squared error with
# respect to ``net.fc1.weight``, with ``r = net(inputs) - targets`` and ``n =
# len(inputs)``: (a) ``2 * r.T @ inputs / n``, (b) ``r.T @ inputs / n``, (c)
# ``2 * inputs.T @ r / n``. Which are wrong? Check them against the numerical
# gradient.
#
# .. solution::
#
#    Solution
#
#    Only ``a`` is right: ``b`` forgets the 2 of the square, and ``c`` holds
#    the right numbers in the wrong shape, ``(2, 1)``.

r, n = (net(inputs) - targets).detach(), len(inputs)
a, b, c = 2 * r.T @ inputs / n, r.T @ inputs / n, 2 * inputs.T @ r / n
expected = numerical_gradient(loss_of_net, net.fc1.weight)
right = []
for label, formula in zip("abc", (a, b, c), strict=True):
    close = torch.allclose(formula, expected, rtol=1e-4, atol=1e-6)
    right.append(formula.shape == expected.shape and close)
    print(label, "right" if right[-1] else "wrong", tuple(formula.shape))
assert right == [True, False, False]
