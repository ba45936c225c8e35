"""
Gradient checking
=================

Autograd differentiates every built-in PyTorch operation correctly. A gradient check is for
the code that autograd cannot vouch for: a ``backward`` you wrote yourself in a custom
``torch.autograd.Function``, or a layer whose gradient you derived by hand. After this
tutorial you will be able to estimate a gradient numerically with central differences,
choose the step size and the precision that make the estimate trustworthy, compare it with
autograd for every parameter of a model with :func:`pttour.check_model_gradients`, and read
the result of ``torch.autograd.gradcheck``.
"""

# %%
# Setting up
# ----------
#
# We pick the device once and seed the random number generator, so that every number
# printed on this page is the same on every build.

import torch
from torch import nn

import pttour

device = pttour.pick_device()
torch.manual_seed(0)
print(f"device: {device}")

# %%
# Central differences
# -------------------
#
# The derivative of ``f`` at ``x`` is the slope of ``f`` near ``x``. Evaluating ``f`` a
# small step ``eps`` to each side gives the central difference::
#
#     f'(x) ~ (f(x + eps) - f(x - eps)) / (2 * eps)
#
# For a tensor, each element is perturbed in turn while the others stay fixed, which gives
# one partial derivative per element. :func:`pttour.numerical_gradient` does this for any
# function that takes no arguments and returns one number, and puts every element back
# exactly as it was. Here ``f(x) = sum(x * sin(x))``, whose derivative
# ``sin(x) + x * cos(x)`` we also know in closed form.

x = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64, requires_grad=True)


def f() -> torch.Tensor:
    return (x * torch.sin(x)).sum()


(autograd_grad,) = torch.autograd.grad(f(), x)
numerical = pttour.numerical_gradient(f, x)
exact = (torch.sin(x) + x * torch.cos(x)).detach()
print("autograd :", [f"{v:.10f}" for v in autograd_grad.tolist()])
print("numerical:", [f"{v:.10f}" for v in numerical.tolist()])
print("exact    :", [f"{v:.10f}" for v in exact.tolist()])
print(f"largest difference: {(autograd_grad - numerical).abs().max().item():.1e}")

# %%
# Choosing the step: why float64
# -------------------------------
#
# The step is a compromise. A large step measures the slope over too wide an interval: the
# *truncation error* of the central difference grows like ``eps**2``. A small step makes
# ``f(x + eps)`` and ``f(x - eps)`` agree in almost all their digits, so their difference
# is mostly *rounding error*, which grows like ``u / eps`` where ``u`` is the precision of
# the float type (about ``1e-7`` for float32 and ``1e-16`` for float64).
#
# The figure measures the error of the central difference of ``sin`` at 1, whose exact
# derivative is ``cos(1)``, for steps from ``1e-1`` down to ``1e-12``, in both types.

import math

import matplotlib.pyplot as plt

steps = torch.logspace(-1, -12, 45, dtype=torch.float64).tolist()


def central_difference_errors(dtype: torch.dtype) -> list[float]:
    """|central difference of sin at 1 - cos(1)| for each step, computed in ``dtype``."""
    point = torch.tensor(1.0, dtype=dtype)
    errors = []
    for step in steps:
        h = torch.tensor(step, dtype=dtype)
        estimate = (torch.sin(point + h) - torch.sin(point - h)) / (2 * h)
        # An exact estimate would have an error of 0, which a log axis cannot show.
        errors.append(max(abs(estimate.item() - math.cos(1.0)), 1e-17))
    return errors


errors = {dtype: central_difference_errors(dtype) for dtype in (torch.float32, torch.float64)}

fig, ax = plt.subplots(figsize=(6, 3.5))
for dtype, label in ((torch.float32, "float32"), (torch.float64, "float64")):
    ax.loglog(steps, errors[dtype], marker="o", markersize=3, label=label)
ax.invert_xaxis()
ax.set_xlabel("step eps (smaller to the right)")
ax.set_ylabel("|numerical - exact| derivative")
ax.set_title("Central difference of sin at x = 1")
ax.text(5e-2, 1e-11, "truncation\nerror ~ eps^2", fontsize=8)
ax.text(3e-10, 1e-11, "rounding\nerror ~ u/eps", fontsize=8)
ax.grid(True, which="major", alpha=0.3)
ax.legend(loc="center left")
plt.show()

# %%
# Both curves have a V shape: the error falls with the step until rounding takes over. In
# float64 the best steps, around ``1e-6`` to ``1e-5``, give 10 to 12 correct digits. In
# float32 no step gives more than about 4 to 6, and for steps below about ``3e-8`` both
# ``1 + eps`` and ``1 - eps`` round to 1 itself: the two evaluations are equal, the
# estimate is 0 and the error is ``cos(1)``. Four digits cannot tell a subtle bug from
# noise, which is why gradient checks run in float64 with a step near ``1e-6``.

for dtype in (torch.float32, torch.float64):
    best = min(range(len(steps)), key=errors[dtype].__getitem__)
    print(f"{dtype}: smallest error {errors[dtype][best]:.1e} at eps = {steps[best]:.0e}")

# %%
# Checking every parameter of a model
# -----------------------------------
#
# Training changes the parameters, so those are the gradients that must be right.
# :func:`pttour.check_model_gradients` compares, for every parameter, autograd's gradient of
# the loss with the central difference of the same loss, and returns a
# :class:`pttour.GradcheckReport` with one row per parameter. A parameter passes when
# ``max|autograd - numerical| <= atol + rtol * max|numerical|``. The model must be float64
# (``model.double()``), and it comes back unchanged: same parameters, ``.grad`` untouched.

X, y = pttour.linear_data(16)
X, y = X.double().to(device), y.double().to(device)
model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double().to(device)
report = pttour.check_model_gradients(model, nn.MSELoss(), X, y)
print(report)

# %%
# A float32 model is refused with an explanation rather than given a meaningless answer.

try:
    pttour.check_model_gradients(model.float(), nn.MSELoss(), X.float(), y.float())
except TypeError as err:
    print(f"TypeError: {err}")

# %%
# A hand-written backward with a bug
# ----------------------------------
#
# Now the case a gradient check exists for. The custom autograd function below computes
# ``x**3`` and has a hand-written backward with a typical slip: it returns ``3 * x`` instead
# of ``3 * x**2``.


class CubeWithWrongBackward(torch.autograd.Function):
    """x**3, with a backward that forgets to square x."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x  # wrong: d(x**3)/dx is 3 * x**2


class Cube(torch.autograd.Function):
    """x**3, with the correct backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x**2


# %%
# :func:`pttour.check_function_gradients` checks a function with respect to its inputs that
# require gradients. We avoid the points 0 and 1, where ``3 * x`` and ``3 * x**2`` happen to
# agree and would hide the bug.

points = torch.tensor([-1.5, 0.5, 2.0], dtype=torch.float64, device=device, requires_grad=True)
print(pttour.check_function_gradients(CubeWithWrongBackward.apply, points))
print()
print(pttour.check_function_gradients(Cube.apply, points))

# %%
# Inside a model, the report also tells *where* the bug is. We use the broken function as
# the activation of a small network. The parameters of the last layer only see the
# activation's output, which the forward pass computes correctly, so they pass; the first
# layer's gradients flow back through the wrong backward and fail.


class CubeActivation(nn.Module):
    """Applies an autograd function of one tensor as an activation."""

    def __init__(self, function: type[torch.autograd.Function]) -> None:
        super().__init__()
        self.function = function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function.apply(x)


torch.manual_seed(0)
broken = nn.Sequential(nn.Linear(2, 3), CubeActivation(CubeWithWrongBackward), nn.Linear(3, 1))
broken = broken.double().to(device)
report = pttour.check_model_gradients(broken, nn.MSELoss(), X, y)
print(report)
print("failures:", report.failures)

# %%
# PyTorch's own check: torch.autograd.gradcheck
# ---------------------------------------------
#
# ``torch.autograd.gradcheck`` compares the full Jacobian of a function with respect to its
# float64 inputs against finite differences. It returns ``True`` when they agree. When they
# do not, it raises ``GradcheckError`` (a subclass of ``RuntimeError``, imported from
# ``torch.autograd.gradcheck``) whose message prints both Jacobians.

from torch.autograd.gradcheck import GradcheckError

print("correct backward:", torch.autograd.gradcheck(Cube.apply, (points,)))
try:
    torch.autograd.gradcheck(CubeWithWrongBackward.apply, (points,))
except GradcheckError as err:
    print(f"GradcheckError: {err}")

# %%
# Here the analytical Jacobian (from the backward) holds ``3 * x`` on its diagonal, where the
# numerical one holds ``3 * x**2``. To check a whole model with ``gradcheck``, pass its
# parameters as inputs through ``torch.func.functional_call``; the per-parameter report of
# :func:`pttour.check_model_gradients` is usually easier to read.
#
# Errata of this section
# ----------------------
#
# The article's mistakes in this section, each reproduced and fixed below.
#
# .. _erratum-e14:
#
# Erratum E14: Gradient checks and the global optimum
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article presents gradient checking as a way to make sure the gradient points towards
# the global optimum. A gradient check says nothing about optima. The gradient of ``x**2``
# at 3 is 6: it points *away* from the minimum at 0, and the check accepts it, because it is
# the correct derivative.

three = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
(slope,) = torch.autograd.grad((three**2).sum(), three)
print(f"gradient of x**2 at 3: {slope.item()} (the minimum is at 0)")
print("gradcheck accepts it:", torch.autograd.gradcheck(torch.square, (three,)))

# %%
# A gradient check compares a backward computation with the derivative of the forward
# computation at the points you give it. Whether following the negative gradient reaches a
# good minimum is a question about the loss and the optimizer, not about the gradient code.
#
# .. _erratum-e15:
#
# Erratum E15: What gradcheck returns
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``gradcheck`` reports the largest and the average difference between the
# numerical and the analytical gradient, and then never calls it. It returns a single
# boolean.

result = torch.autograd.gradcheck(Cube.apply, (points,))
print(f"gradcheck returned {result!r}, of type {type(result).__name__}")
quiet = torch.autograd.gradcheck(CubeWithWrongBackward.apply, (points,), raise_exception=False)
print(f"with raise_exception=False, a mismatch returns {quiet!r}")

# %%
# On success the result is ``True``; on a mismatch ``gradcheck`` raises ``GradcheckError``
# (shown above), or returns ``False`` with ``raise_exception=False``. If you want the size
# of the differences, compute them yourself; each row of a :class:`pttour.GradcheckReport`
# holds them.

for row in pttour.check_function_gradients(CubeWithWrongBackward.apply, points).comparisons:
    print(f"{row.name}: max diff {row.max_abs_diff:.2f}, mean diff {row.mean_abs_diff:.2f}")

# %%
# .. _erratum-e16:
#
# Erratum E16: Parameters before and after backward
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article prints the parameters before and after ``loss.backward()``, as if the backward
# pass changed them. The two printouts are identical.

layer = nn.Linear(2, 1).double()
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
inputs, targets = pttour.linear_data(16)
inputs, targets = inputs.double(), targets.double()
before = [p.detach().clone() for p in layer.parameters()]
nn.functional.mse_loss(layer(inputs), targets).backward()
unchanged = all(torch.equal(b, p) for b, p in zip(before, layer.parameters(), strict=True))
print("parameters identical after backward():", unchanged)

# %%
# ``backward()`` only fills ``.grad``; the parameters change when ``optimizer.step()`` runs,
# and the article creates an optimizer but never calls it. Print the gradients after
# ``backward()``, and compare parameters around ``optimizer.step()``.

print("weight.grad:", layer.weight.grad)
optimizer.step()
changed = [not torch.equal(b, p) for b, p in zip(before, layer.parameters(), strict=True)]
print("parameters changed by step():", changed)

# %%
# .. _erratum-e17:
#
# Erratum E17: isinstance check against torch.DoubleTensor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article asserts that each gradient is double precision with
# ``isinstance(param.grad, torch.DoubleTensor)``. On the CPU this passes.

print("CPU float64:", isinstance(layer.weight.grad, torch.DoubleTensor), layer.weight.grad.type())

# %%
# ``torch.DoubleTensor`` is a legacy type that means "float64 *on the CPU*". For the same
# dtype on another device the check is ``False``. On an NVIDIA H100 (torch 2.11.0+cu130,
# measured on 2026-11-26) the float64 gradient of a CUDA parameter gave ``False``, its
# ``.type()`` being ``torch.cuda.DoubleTensor``; the block below repeats that measurement
# when the page is built on a GPU. Every PyTorch build has the ``meta`` device, which shows
# the same effect on any machine.

if device.type == "cuda":
    weight = torch.ones(2, dtype=torch.float64, device=device, requires_grad=True)
    (weight * weight).sum().backward()
    print("CUDA float64:", isinstance(weight.grad, torch.DoubleTensor), weight.grad.type())

meta_tensor = torch.ones(2, dtype=torch.float64, device="meta")
print("meta float64:", isinstance(meta_tensor, torch.DoubleTensor), meta_tensor.type())

# %%
# The fix is to check the dtype, which does not depend on the device.

print("CPU: ", layer.weight.grad.dtype == torch.float64)
print("meta:", meta_tensor.dtype == torch.float64)

# %%
# .. _erratum-e18:
#
# Erratum E18: A guard that does not guard
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article tests ``param.grad is not None`` only around its type assertion, and then
# calls ``param.grad.detach()`` for every parameter anyway. A parameter that is frozen, or
# not used in the forward pass, has no gradient, and the call fails.

layer = nn.Linear(2, 1).double()
layer.weight.requires_grad_(False)  # a frozen parameter
nn.functional.mse_loss(layer(inputs), targets).backward()
print("weight.grad:", layer.weight.grad)
try:
    layer.weight.grad.detach()
except AttributeError as err:
    print(f"AttributeError: {err}")

# %%
# ``None`` has no ``detach`` method. Skip such parameters before using their gradient.

for name, param in layer.named_parameters():
    if param.grad is None:
        print(f"{name}: no gradient, skipped")
        continue
    print(f"{name}: gradient {param.grad.detach().tolist()}")

# %%
# .. _erratum-e19:
#
# Erratum E19: A random array and a NumPy derivative
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says NumPy computes the numerical derivative. The only "NumPy gradient" in its
# code is an array of random normal numbers with the gradient's shape, which is never used.

import numpy as np

layer = nn.Linear(2, 1).double()
nn.functional.mse_loss(layer(inputs), targets).backward()
random_array = np.random.default_rng(0).normal(size=tuple(layer.weight.grad.shape))
print("random array:   ", np.round(random_array, 4))
print("autograd weight:", np.round(layer.weight.grad.numpy(), 4))

# %%
# Random numbers are not a derivative of anything. The numerical derivative comes from
# evaluating the torch loss at perturbed parameters, in float64; NumPy adds nothing.
# ``torch.testing.assert_close`` then compares the two, shapes included, and raises if they
# differ.


def layer_loss() -> torch.Tensor:
    return nn.functional.mse_loss(layer(inputs), targets)


numerical_weight = pttour.numerical_gradient(layer_loss, layer.weight)
print("numerical:      ", np.round(numerical_weight.numpy(), 4))
torch.testing.assert_close(numerical_weight, layer.weight.grad, rtol=1e-6, atol=1e-8)
print("assert_close passed")

# %%
# .. _erratum-e20:
#
# Erratum E20: Perturbing the inputs instead of the parameters
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# For its numerical gradient the article shifts *all the input data* by ``eps * i``, for
# each sample index ``i``, and takes the central difference of the loss. We compute the
# first values of that list.

eps = 1e-6


def loss_at(data: torch.Tensor) -> float:
    return nn.functional.mse_loss(layer(data), targets).item()


with torch.no_grad():
    shifted = [(loss_at(inputs + eps * i) - loss_at(inputs - eps * i)) for i in range(4)]
per_index = [round(value / (2 * eps), 4) for value in shifted]
print("input shifts, i = 0..3:", per_index)
print("weight.grad:", [round(g, 4) for g in layer.weight.grad.flatten().tolist()])
print("bias.grad:  ", round(layer.bias.grad.item(), 4))

# %%
# For ``i = 0`` nothing moves, so the value is always 0; after that it grows in proportion
# to ``i``, because each value is ``i`` times the derivative of the loss along a shift of
# every input. That is a derivative with respect to the data, and it matches none of the
# parameter gradients. The numerical gradient of a parameter perturbs one *element of that
# parameter* at a time, and gives one number per element.

for name, param in layer.named_parameters():
    numerical_param = pttour.numerical_gradient(layer_loss, param)
    print(f"{name}: numerical {[f'{v:.8f}' for v in numerical_param.flatten().tolist()]}")
    print(f"{name}: autograd  {[f'{v:.8f}' for v in param.grad.flatten().tolist()]}")

# %%
# .. _erratum-e21:
#
# Erratum E21: Comparing arrays of different shapes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article subtracts its list of 100 per-sample numbers from the gradient array of each
# parameter. For the weight, of shape ``(1, 2)``, NumPy refuses.

per_sample = [0.0] * 100
weight_grad = layer.weight.grad.numpy()
bias_grad = layer.bias.grad.numpy()
try:
    np.abs(weight_grad - per_sample)
except ValueError as err:
    print(f"ValueError: {err}")

# %%
# For the bias, of shape ``(1,)``, NumPy broadcasts without a word and returns 100
# differences between numbers that have nothing to do with each other.

print("bias difference shape:", np.abs(bias_grad - per_sample).shape)

# %%
# The fix is one numerical value per parameter element, compared with
# ``torch.testing.assert_close``, which also fails when the shapes differ.

torch.testing.assert_close(pttour.numerical_gradient(layer_loss, layer.bias), layer.bias.grad)
print("bias: shapes and values agree")
try:
    torch.testing.assert_close(torch.zeros(100, dtype=torch.float64), layer.weight.grad)
except AssertionError as err:
    print(f"AssertionError: {err}")

# %%
# .. _erratum-e22:
#
# Erratum E22: What epsilon is for
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``epsilon`` is kept small to avoid a division by zero. Any nonzero step
# avoids that; the size of the step decides how accurate the estimate is, as the figure above
# shows. With the article's step of ``1e-7`` in float32, the derivative of ``x**2`` at 1 comes
# out far from 2.

one = torch.tensor(1.0, dtype=torch.float32)
h = 1e-7
print("float32, eps=1e-7:", (((one + h) ** 2 - (one - h) ** 2) / (2 * h)).item())

# %%
# Near 1, neighbouring float32 numbers are about ``1.2e-7`` apart, so ``1 + 1e-7`` and
# ``1 - 1e-7`` are rounded to ``1 + 1.19e-7`` and ``1 - 1.19e-7``. The step actually taken
# is 19 % larger than the one we divide by, and so is the estimate. In float64, with a step
# near ``1e-6`` (``gradcheck``'s default), the estimate is right to about 10 digits.

one64 = torch.tensor(1.0, dtype=torch.float64)
h = 1e-6
print("float64, eps=1e-6:", (((one64 + h) ** 2 - (one64 - h) ** 2) / (2 * h)).item())

# %%
# .. _erratum-e23:
#
# Erratum E23: param.name is None
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article reports each checked parameter with ``param.name``. A parameter does not know
# the attribute name it is stored under, so every message names ``None``.

for param in layer.parameters():
    print(f"{param.name} passed the gradient check")

# %%
# The names belong to the module, and ``named_parameters()`` yields them with the
# parameters; they are also the row names of a :class:`pttour.GradcheckReport`.

for name, _ in layer.named_parameters():
    print(f"{name} passed the gradient check")

# %%
# Takeaways
# ---------
#
# - A gradient check tests a backward computation against the derivative of its forward
#   computation. It matters for hand-written ``backward`` methods, not for built-in
#   operations, and it says nothing about optima.
# - Estimate each partial derivative by a central difference of the loss, perturbing one
#   parameter element at a time, in float64 with a step near ``1e-6``.
# - Compare per parameter, with a relative and an absolute tolerance, and name the
#   parameters with ``named_parameters()``.
# - ``torch.autograd.gradcheck`` returns ``True`` or raises ``GradcheckError``; check the
#   dtype with ``tensor.dtype``, not with ``isinstance``.
# - The library packages these lessons: :func:`pttour.numerical_gradient`,
#   :func:`pttour.check_model_gradients` and :func:`pttour.check_function_gradients`, which
#   return a :class:`pttour.GradcheckReport` of :class:`pttour.GradientComparison` rows.
#
# Previous: :ref:`sphx_glr_auto_tutorials_plot_04_autograd_training.py` shows how the
# gradients are used in a training step.
