"""
Checking a backward with torch.autograd.gradcheck
=================================================

PyTorch tests the derivatives of its own operations. The derivatives you write
yourself, such as the backward of a custom ``torch.autograd.Function``, nobody
has tested. ``torch.autograd.gradcheck`` compares them with finite
differences, and its tolerances decide how close is close enough. After
reading this page you will be able to:

- check a hand-written backward with ``torch.autograd.gradcheck`` and read
  its verdict;
- say what ``eps``, ``atol`` and ``rtol`` mean, and make the check stricter;
- choose the precision and the step that make a numerical check trustworthy.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# A backward written by hand
# --------------------------
#
# A ``torch.autograd.Function`` pairs a ``forward`` with a ``backward`` that
# you write yourself, and autograd uses that backward as it is;
# :ref:`sphx_glr_auto_tutorials_plot_16_custom_autograd.py` teaches how to
# write one. Here it only serves as code to check. ``Cube`` computes ``x**3``
# and returns ``grad_output`` times the derivative ``3 * x**2``.
# ``CubeWrongBackward`` changes only the backward, with a typical slip: ``3 *
# x`` instead of ``3 * x**2``.

import torch


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x**2


class CubeWrongBackward(Cube):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x  # wrong: d(x**3)/dx is 3 * x**2


points = torch.tensor(
    [-1.5, 0.5, 2.0], dtype=torch.float64, requires_grad=True
)
print("forward:", CubeWrongBackward.apply(points).tolist())

# %%
# The forward is right, so nothing looks wrong until the gradients are used. We
# picked points away from 0 and 1, where ``3 * x`` and ``3 * x**2`` happen to
# agree.
#
# torch.autograd.gradcheck
# ------------------------
#
# ``gradcheck(func, inputs)`` builds the Jacobian of ``func`` with respect to
# each input that requires gradients, twice: numerically, by central
# differences one input element at a time, as
# :ref:`sphx_glr_auto_tutorials_plot_08_gradients_by_hand.py` wrote them, and
# analytically, by calling the backward once per output element. It returns
# ``True`` when the two agree, and otherwise raises ``GradcheckError`` showing
# both. ``inputs`` is a tuple of float64 tensors; the error class is imported
# from the module ``torch.autograd.gradcheck``.

from torch.autograd.gradcheck import GradcheckError

print("Cube:", torch.autograd.gradcheck(Cube.apply, (points,)))
try:
    torch.autograd.gradcheck(CubeWrongBackward.apply, (points,))
except GradcheckError as err:
    print(f"GradcheckError: {err}")

# %%
# The analytical Jacobian holds ``3 * x`` on its diagonal, where the numerical
# one holds ``3 * x**2``.
#
# What "agree" means: eps, atol and rtol
# --------------------------------------
#
# Three keyword options set the comparison:
#
# - ``eps`` (default ``1e-6``) is the step of the central differences;
# - an element passes when ``|analytical - numerical| <= atol + rtol *
#   |numerical|``: ``rtol`` (default ``1e-3``) is a relative tolerance, for
#   large values, and ``atol`` (default ``1e-5``) an absolute one, for values
#   near zero.
#
# A relative tolerance of ``1e-3`` lets a small error through. This backward of
# ``erf`` writes its constant ``2 / sqrt(pi) = 1.12838...`` rounded to
# ``1.128``, which is off by 0.03 %:


class Erf(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return torch.erf(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 1.128 * torch.exp(-(x**2))  # 2/sqrt(pi) rounded


def passes(function, x, atol, rtol):
    # gradcheck's verdict, True or False, at the given tolerances.
    return torch.autograd.gradcheck(
        function.apply, (x,), atol=atol, rtol=rtol, raise_exception=False
    )


for atol, rtol in ((1e-5, 1e-3), (1e-6, 1e-4)):
    print(f"atol={atol:g}, rtol={rtol:g}: {passes(Erf, points, atol, rtol)}")

# %%
# With the defaults the rounded constant passes; with ``atol=1e-6, rtol=1e-4``,
# ten times stricter, it fails. ``passes`` uses ``raise_exception=False``,
# which makes ``gradcheck`` return ``False`` instead of raising.
#
# :func:`pttour.check_function_gradients` is the tested version of this check.
# Its defaults are the stricter ``atol=1e-6`` and ``rtol=1e-4``, and at equal
# tolerances its verdict is that of ``gradcheck``. It adds a report of how far
# off the backward is, with the worst element: ``gradcheck`` prints both
# Jacobians at four digits, where an error of 0.03 % does not show.

import pttour

print(pttour.check_function_gradients(Erf.apply, points))

# %%
# Why not tighter still? The numerical Jacobian has an error of its own, which
# depends on the step and on the precision: the next section measures it.
#
# Why float64: choosing the step
# ------------------------------
#
# A large step measures the slope over too wide an interval: the *truncation
# error* grows like ``eps**2``. A small one makes ``f(x + eps)`` and ``f(x -
# eps)`` agree in almost all their digits, so their difference is mostly
# *rounding error*, which grows like ``u / eps`` (``u`` is about ``1e-7`` for
# float32 and ``1e-16`` for float64). We measure the error of the central
# difference of ``sin`` at 1, whose derivative is ``cos(1)``, for steps from
# ``1e-1`` to ``1e-12``.

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
        # a log axis cannot show 0: count an exact result as 1e-17
        errors.append(max(abs(estimate - math.cos(1.0)), 1e-17))
    label = str(dtype).removeprefix("torch.")
    ax.loglog(steps, errors, marker="o", markersize=3, label=label)
ax.invert_xaxis()
ax.set_xlabel("eps")
ax.set_ylabel(r"$|\hat{f}\,'(1) - \cos(1)|$")
ax.grid(True, which="major", alpha=0.3)
ax.legend()
plt.show()

# %%
# .. figure-caption::
#
#    The error of the central difference of sin at 1, its distance from cos(1)
#    (vertical axis, log scale) for steps eps from 1e-1 down to 1e-12
#    (horizontal axis, smaller to the right), in float32 and in float64.
#
# The error falls with the step until rounding takes over. In float64 the best
# steps, near ``gradcheck``'s default ``eps=1e-6``, give ten digits or more:
# far below ``rtol=1e-4``. In float32 the best steps, near ``1e-3``, give four
# to six digits, and at ``1e-6`` only two or three are left, too few to tell a
# subtle bug from noise. That is why ``gradcheck`` wants float64 inputs.
#
# Takeaways
# ---------
#
# - Check a hand-written backward with ``torch.autograd.gradcheck(func,
#   inputs)``: a tuple of float64 inputs, at least one requiring gradients.
# - It returns ``True`` or raises ``GradcheckError``; with
#   ``raise_exception=False`` it returns ``False`` instead.
# - An element passes when ``|analytical - numerical| <= atol + rtol *
#   |numerical|``. The defaults, ``atol=1e-5`` and ``rtol=1e-3``, let errors of
#   0.1 % through; pass ``atol=1e-6, rtol=1e-4`` for a stricter check.
# - Numerical derivatives need float64 and a step near ``1e-6``.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_10_datasets.py` turns to the data a
# model trains on.
#
# What the article got wrong
# --------------------------
#
# This page follows §4.3 "Gradient checking" of the article, which describes
# ``gradcheck`` without calling it; the :doc:`/errata` page has the details.
#
# .. _erratum-e14:
#
# Erratum E14: Gradient checks and the global optimum
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says gradient checking makes sure the gradient points to the
# global optimum. The gradient of ``x**2`` at 3 is 6, pointing *away* from the
# minimum at 0, and ``gradcheck`` accepts it:

three = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
(slope,) = torch.autograd.grad((three**2).sum(), three)
accepted = torch.autograd.gradcheck(torch.square, (three,))
print(f"gradient of x**2 at 3: {slope.item()}; gradcheck: {accepted}")

# %%
# A gradient check compares a backward with its forward's derivative at the
# points you give it; it says nothing of optima (:ref:`all errata <e14>`).
#
# .. _erratum-e15:
#
# Erratum E15: What gradcheck returns
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``gradcheck`` reports the largest and the mean difference.
# It returns one boolean, or raises, and its error class is not an attribute of
# the function:

quiet = passes(CubeWrongBackward, points, atol=1e-5, rtol=1e-3)
print(f"a mismatch with raise_exception=False returns {quiet!r}")
try:
    torch.autograd.gradcheck.GradcheckError
except AttributeError as err:
    print(f"AttributeError: {err}")

# %%
# Import ``GradcheckError`` from the module ``torch.autograd.gradcheck``; for
# the differences, see :func:`pttour.check_function_gradients`
# (:ref:`all errata <e15>`).
#
# .. _erratum-e22:
#
# Erratum E22: What epsilon is for
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article keeps its ``epsilon`` small "to avoid a division by zero". Any
# nonzero step does that; its size decides the accuracy. Its ``1e-7`` works in
# float64, the precision it uses, but not in float32, the default:

for dtype in (torch.float64, torch.float32):
    one = torch.tensor(1.0, dtype=dtype)
    slope = ((one + 1e-7) ** 2 - (one - 1e-7) ** 2) / 2e-7
    print(f"{dtype}, eps=1e-7: d(x**2)/dx at 1 = {slope.item()}")

# %%
# In float32, ``1 ± 1e-7`` rounds to ``1 ± 1.19e-7``: the step taken is 19 %
# larger than the one we divide by. Use float64 and a step near ``1e-6``
# (:ref:`all errata <e22>`).
#
# .. _erratum-e41:
#
# Erratum E41: gradcheck takes more than two arguments
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``gradcheck`` takes two arguments, the function and its
# inputs. It takes two positional ones and many keyword-only options, and its
# inputs must be right too:

import inspect

parameters = inspect.signature(torch.autograd.gradcheck).parameters.values()
keyword_only = [p.name for p in parameters if p.kind == p.KEYWORD_ONLY]
print(f"{len(keyword_only)} keyword-only options:", *keyword_only[:4], "...")
try:
    torch.autograd.gradcheck(torch.square, (points.detach(),))
except ValueError as err:
    print(f"ValueError: {str(err).split(', but')[0]}")

# %%
# Pass a tuple of float64 inputs, at least one with ``requires_grad=True``, and
# the options by keyword; the errata page shows what float32 inputs do
# (:ref:`all errata <e41>`).
#
# Exercises
# ---------
#
# Exercise 1 ★: predict a verdict from the tolerances
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# This backward of ``Cube`` is 1 % too large. Without running it, predict the
# three verdicts; then find the smallest ``rtol`` that lets it pass with
# ``atol=0``.
#
# .. code-block:: python
#
#    class CubeOnePercentOff(Cube):
#        @staticmethod
#        def backward(ctx, grad_output):
#            (x,) = ctx.saved_tensors
#            return grad_output * 3.03 * x**2
#
#    two = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
#    for atol, rtol in ((1e-5, 1e-3), (1e-5, 2e-2), (0.1, 0.0)):
#        print(torch.autograd.gradcheck(
#            CubeOnePercentOff.apply, (two,), atol=atol, rtol=rtol,
#            raise_exception=False))
#
# .. solution::
#
#    Solution
#
#    At 2 the numerical derivative is 12 and the analytical 12.12: the
#    difference, 0.12, must be at most ``atol + rtol * 12``. With ``atol=0``
#    that needs ``rtol`` just above 0.01, which is what 1 % off means.
#    ``passes`` is the helper of the lesson.


class CubeOnePercentOff(Cube):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3.03 * x**2


two = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
tolerances = ((1e-5, 1e-3), (1e-5, 2e-2), (0.1, 0.0), (0.0, 0.0101))
verdicts = [passes(CubeOnePercentOff, two, a, r) for a, r in tolerances]
print(verdicts)
assert verdicts == [False, True, False, True]

# %%
# Exercise 2 ★★: which backward is wrong?
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Three backwards are proposed for ``log(1 + x**2)``, whose derivative is ``2
# * x / (1 + x**2)``: (a) ``grad_output * 2 * x / (1 + x**2)``, (b)
# ``grad_output * 2 * x * (1 + x**2) ** -1`` and (c) ``grad_output * 2 * x / 1
# + x**2``. Write each as a ``Function`` and check them: which are wrong?
#
# .. solution::
#
#    Solution
#
#    ``a`` and ``b`` are the same formula; ``c`` divides by 1 and then adds
#    ``x**2``, since ``/`` binds tighter than ``+``. ``log_one_plus_square``
#    makes a ``Function`` from each formula.


backwards = {  # each computes the backward from grad_output and x
    "a": lambda grad_output, x: grad_output * 2 * x / (1 + x**2),
    "b": lambda grad_output, x: grad_output * 2 * x * (1 + x**2) ** -1,
    "c": lambda grad_output, x: grad_output * 2 * x / 1 + x**2,
}


def log_one_plus_square(formula):
    # A Function for log(1 + x**2) whose backward is the given formula.

    class LogOnePlusSquare(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return torch.log1p(x**2)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, grad_output):
            return formula(grad_output, *ctx.saved_tensors)

    return LogOnePlusSquare


passed = {}
for name, formula in backwards.items():
    passed[name] = passes(log_one_plus_square(formula), points, 1e-6, 1e-4)
print(passed)
assert passed == {"a": True, "b": True, "c": False}
