"""
torch.autograd.gradcheck and a model's gradients
================================================

PyTorch tests the derivatives of its own operations; what autograd cannot vouch
for is code you write: a ``backward`` in a custom ``torch.autograd.Function``,
or a gradient derived by hand. After this tutorial you will be able to check
such code with ``torch.autograd.gradcheck``, choose the step and the precision
that make a numerical check trustworthy, read what ``gradcheck`` returns, and
find which parameter of a model has a wrong gradient.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# A hand-written backward with a bug
# ----------------------------------
#
# Autograd knows the derivative of almost every operation. Where it does not,
# it says so rather than guess: ``torch.igamma`` has no derivative with respect
# to its first input.

import torch
from torch import nn

a = torch.tensor([1.5], requires_grad=True)
try:
    torch.igamma(a, torch.tensor([2.0])).backward()
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# A gradient check is for the derivatives autograd takes from you. This custom
# function computes ``x**3`` and has a hand-written backward with a typical
# slip: ``3 * x`` instead of ``3 * x**2``. We evaluate it away from 0 and 1,
# where the two happen to agree.


class CubeWithWrongBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x  # wrong: d(x**3)/dx is 3 * x**2


points = torch.tensor(
    [-1.5, 0.5, 2.0], dtype=torch.float64, requires_grad=True
)
print("forward, right:", CubeWithWrongBackward.apply(points).tolist())

# %%
# torch.autograd.gradcheck
# ------------------------
#
# ``gradcheck`` computes the Jacobian of a function with respect to each input
# that requires gradients twice, from its backward and by finite differences,
# and compares them. It returns ``True`` when they agree, and raises
# ``GradcheckError`` with both Jacobians when they do not:

from torch.autograd.gradcheck import GradcheckError

print(
    "x**3 with autograd's backward:",
    torch.autograd.gradcheck(lambda x: x**3, (points,)),
)
try:
    torch.autograd.gradcheck(CubeWithWrongBackward.apply, (points,))
except GradcheckError as err:
    print(f"GradcheckError: {err}")

# %%
# The analytical Jacobian (from the backward) holds ``3 * x`` on its diagonal
# where the numerical one holds ``3 * x**2``.
#
# .. _erratum-e41:
#
# Erratum E41: gradcheck takes more than two arguments
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``gradcheck`` takes two arguments, the function and its
# inputs. It takes two *positional* ones, and keyword-only options that decide
# what "agree" means:

import inspect

parameters = inspect.signature(torch.autograd.gradcheck).parameters.values()
print("positional:", [p.name for p in parameters if p.kind != p.KEYWORD_ONLY])
print(
    "keyword-only:",
    [f"{p.name}={p.default}" for p in parameters if p.kind == p.KEYWORD_ONLY],
)

# %%
# The inputs matter too. Without an input that requires gradients there is
# nothing to check; in float32 even the correct ``x**3`` fails, after a
# warning:

import warnings

try:
    torch.autograd.gradcheck(lambda x: x**3, (points.detach(),))
except ValueError as err:
    print(f"ValueError: {err}")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        torch.autograd.gradcheck(
            lambda x: x**3, (points.detach().float().requires_grad_(),)
        )
    except GradcheckError as err:
        print(f"GradcheckError: {str(err).splitlines()[0].rstrip(',')}")
print(f"{caught[0].category.__name__}: {caught[0].message}")

# %%
# Give ``gradcheck`` a tuple of float64 inputs, at least one with
# ``requires_grad=True``, and set ``eps``, ``atol`` and ``rtol`` by keyword
# when the defaults do not fit; the call ``gradcheck(lambda x: x**3,
# (points,))`` above is the fix (:ref:`all errata <e41>`).
#
# Why float64: choosing the step
# ------------------------------
#
# A large step measures the slope over too wide an interval: the *truncation
# error* grows like ``eps**2``. A small one makes ``f(x + eps)`` and ``f(x -
# eps)`` agree in almost all their digits, so their difference is mostly
# *rounding error*, which grows like ``u / eps`` (``u`` is about ``1e-7`` for
# float32 and ``1e-16`` for float64). The figure measures the error of the
# central difference of ``sin`` at 1 for steps from ``1e-1`` to ``1e-12``.

import math

import matplotlib.pyplot as plt

steps = torch.logspace(-1, -12, 45, dtype=torch.float64).tolist()
fig, ax = plt.subplots(figsize=(6, 3.5))
for dtype in (torch.float32, torch.float64):
    one = torch.tensor(1.0, dtype=dtype)
    errors = []
    for step in steps:
        h = torch.tensor(step, dtype=dtype)
        estimate = ((torch.sin(one + h) - torch.sin(one - h)) / (2 * h)).item()
        errors.append(
            max(abs(estimate - math.cos(1.0)), 1e-17)
        )  # a log axis cannot show 0
    ax.loglog(
        steps,
        errors,
        marker="o",
        markersize=3,
        label=str(dtype).removeprefix("torch."),
    )
ax.invert_xaxis()
ax.set_xlabel("step eps (smaller to the right)")
ax.set_ylabel("|numerical - exact| derivative")
ax.set_title("Central difference of sin at x = 1")
ax.grid(True, which="major", alpha=0.3)
ax.legend()
plt.show()

# %%
# The error falls with the step until rounding takes over. In float64 the best
# steps, near ``gradcheck``'s default ``eps=1e-6``, give ten digits or more. In
# float32 the best steps, near ``1e-3``, give four to six, and at ``1e-6`` only
# two or three are left: too few to tell a subtle bug from noise.
#
# .. _erratum-e22:
#
# Erratum E22: What epsilon is for
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article keeps its ``epsilon`` small "to avoid a division by zero". Any
# nonzero step does that; the step's size decides how accurate the estimate is.
# The article's ``1e-7`` works in float64, the precision it uses, but the same
# step in float32, the default, does not:

for dtype in (torch.float64, torch.float32):
    one = torch.tensor(1.0, dtype=dtype)
    slope = ((one + 1e-7) ** 2 - (one - 1e-7) ** 2) / 2e-7
    print(f"{dtype}, eps=1e-7: d(x**2)/dx at 1 = {slope.item()}")

# %%
# In float32, ``1 + 1e-7`` and ``1 - 1e-7`` round to the nearest float32
# numbers, ``1 ± 1.19e-7``: the step taken is 19 % larger than the one we
# divide by, and so is the estimate. Choose the step together with the
# precision: float64 and a step near ``1e-6`` (:ref:`all errata <e22>`).
#
# .. _erratum-e15:
#
# Erratum E15: What gradcheck returns
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``gradcheck`` reports the largest and the mean difference
# between the numerical and the analytical gradient. It returns one boolean, or
# raises; and its error class is not reachable as
# ``torch.autograd.gradcheck.GradcheckError``, because
# ``torch.autograd.gradcheck`` is the function:

quiet = torch.autograd.gradcheck(
    CubeWithWrongBackward.apply, (points,), raise_exception=False
)
print(f"with raise_exception=False a mismatch returns {quiet!r}")
try:
    torch.autograd.gradcheck.GradcheckError
except AttributeError as err:
    print(f"AttributeError: {err}")
print(
    "GradcheckError is a RuntimeError:",
    issubclass(GradcheckError, RuntimeError),
)

# %%
# Import the class with ``from torch.autograd.gradcheck import
# GradcheckError``, as above. To see *how far* a backward is off, compute the
# differences yourself: :func:`pttour.check_function_gradients` is that
# computation, tested. It reports the largest and the mean difference for each
# input that requires gradients (:ref:`all errata <e15>`).

import pttour

print(pttour.check_function_gradients(CubeWithWrongBackward.apply, points))

# %%
# .. _erratum-e14:
#
# Erratum E14: Gradient checks and the global optimum
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says gradient checking makes sure the gradient points to the
# global optimum. The gradient of ``x**2`` at 3 is 6: it points *away* from the
# minimum at 0, and ``gradcheck`` accepts it, because it is the correct
# derivative.

three = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
(slope,) = torch.autograd.grad((three**2).sum(), three)
accepted = torch.autograd.gradcheck(torch.square, (three,))
print(
    f"gradient of x**2 at 3: {slope.item()}; gradcheck accepts it: {accepted}"
)

# %%
# A gradient check compares a backward with the derivative of its forward at
# the points you give it. Whether the steps reach a good minimum depends on the
# loss and the optimizer (:ref:`all errata <e14>`).
#
# A model's gradients
# -------------------
#
# ``gradcheck`` checks a function of tensors. To check a model's parameters,
# make them the inputs: ``torch.func.functional_call`` runs the model with the
# tensors you pass in place of its parameters. Here the broken cube is the
# activation of a small network.

from torch.func import functional_call


class Cube(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return CubeWithWrongBackward.apply(x)


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 3), Cube(), nn.Linear(3, 1)).double()
X = torch.rand(16, 2, dtype=torch.float64)
y = X @ torch.tensor([[3.0], [1.0]], dtype=torch.float64) + 4
names = [name for name, _ in model.named_parameters()]


def loss_of(*params: torch.Tensor) -> torch.Tensor:
    output = functional_call(
        model, dict(zip(names, params, strict=True)), (X,)
    )
    return nn.functional.mse_loss(output, y)


params = tuple(p.detach().requires_grad_() for p in model.parameters())
try:
    torch.autograd.gradcheck(loss_of, params)
except GradcheckError as err:
    print(
        f"GradcheckError: {str(err).splitlines()[0].rstrip(',')}; input 0 is {names[0]}"
    )

# %%
# ``gradcheck`` stops at the first input that fails.
# :func:`pttour.check_model_gradients` checks every parameter and names each
# one: the last layer only sees the activation's output, which the forward
# computes correctly, so it passes; the first layer's gradients flow back
# through the wrong backward and fail.

report = pttour.check_model_gradients(model, nn.MSELoss(), X, y)
print(report)
print("failures:", report.failures)

# %%
# Takeaways
# ---------
#
# - Check a hand-written ``backward`` with ``torch.autograd.gradcheck(func,
#   inputs)``: a tuple of float64 inputs, at least one requiring gradients;
#   options by keyword.
# - It returns ``True`` or raises ``GradcheckError`` (import it from
#   ``torch.autograd.gradcheck``); ``raise_exception=False`` returns ``False``
#   instead.
# - Numerical derivatives need float64 and a step near ``1e-6``.
# - A gradient check says nothing about optima.
# - For a model, pass its parameters through ``torch.func.functional_call``;
#   :func:`pttour.check_model_gradients` reports every parameter by name.
#
# Previous: :ref:`sphx_glr_auto_tutorials_plot_08_gradients_by_hand.py` writes
# the check by hand.
