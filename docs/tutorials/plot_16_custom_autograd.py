"""
Custom autograd functions
=========================

Autograd differentiates code built from PyTorch operations, so most code never
needs a hand-written gradient. Sometimes you still want one: an operation has
no derivative, autograd's derivative of your formula is wrong or unstable
somewhere, or the forward calls code autograd cannot see.
``torch.autograd.Function`` lets you write the forward and the backward
yourself. After reading this page you will be able to:

* decide when a custom ``Function`` is worth writing;
* write one whose backward can itself be differentiated;
* check its first and second derivatives with ``torch.autograd.gradcheck`` and
  ``torch.autograd.gradgradcheck``;
* tell when ``once_differentiable`` raises an error and when it silently drops
  part of a second derivative.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# When autograd's derivative is not enough
# ----------------------------------------
#
# Autograd has a derivative for most operations, but not for all of them.
# ``torch.igamma(a, x)``, the regularised lower incomplete gamma function, can
# be differentiated with respect to ``x`` only: its derivative with respect to
# ``a`` is not implemented.

import torch

torch.manual_seed(0)  # gradgradcheck draws random numbers; this fixes them
a = torch.tensor([2.0], requires_grad=True)
try:
    torch.igamma(a, torch.tensor([1.0])).backward()
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %%
# Where a derivative exists, it is the derivative of the formula you wrote, one
# operation at a time. Softplus, ``log(1 + exp(x))``, shows two ways this can
# go wrong. Written literally, ``exp(x)`` overflows in float32 above ``x =
# 88``: the value becomes ``inf`` and the slope ``nan``. The stable rewrite
# ``max(x, 0) + log1p(exp(-|x|))`` fixes the value, but autograd differentiates
# ``clamp`` and ``abs`` separately, and at ``x = 0`` the slopes it picks for
# them add up to 1, while the true slope, ``sigmoid(0)``, is 0.5.

if torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")


def naive_softplus(x):
    return torch.log(1 + torch.exp(x))


def stable_softplus(x):
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))


def rounded(values, digits=4):
    return [round(v, digits) for v in values.tolist()]


for formula in (naive_softplus, stable_softplus):
    x = torch.tensor([0.0, 100.0], device=device, requires_grad=True)
    value = formula(x)
    value.sum().backward()
    print(
        f"{formula.__name__}: value {rounded(value)}, slope {rounded(x.grad)}"
    )

# %%
# (``torch.nn.functional.softplus`` is right everywhere; use it in real code.)
# Write a ``Function`` when autograd's derivative is **missing, wrong or
# unstable**, when a hand-written backward is **cheaper** (it saves fewer
# tensors or fuses steps), or when the forward calls **code autograd cannot
# see**, such as NumPy or a compiled library. Otherwise do not: a hand-written
# backward only adds a place for mistakes.
#
# Writing the Function
# --------------------
#
# ``forward`` computes the output from the inputs. ``setup_context`` saves what
# the backward needs with ``ctx.save_for_backward``, which notices if a tensor
# is modified in place before the backward runs. ``backward`` receives
# ``grad_output``, the gradient of the final loss with respect to the output,
# and returns the gradient with respect to each input: by the chain rule,
# ``grad_output`` times the local derivative, here ``sigmoid(x)``.


class Softplus(torch.autograd.Function):
    generate_vmap_rule = True  # lets torch.func.vmap batch it

    @staticmethod
    def forward(x):
        return stable_softplus(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


x = torch.tensor([0.0, 100.0], device=device, requires_grad=True)
value = Softplus.apply(x)  # a Function is called through .apply
value.sum().backward()
print(f"Softplus: value {rounded(value)}, slope {rounded(x.grad)}")

# %%
# The backward uses only differentiable torch operations on the saved input,
# so autograd can record it as it runs and differentiate it in turn: the
# second derivative works. :class:`pttour.SoftplusFunction` is the tested
# version of this class, with a ``jvp`` method for forward mode (used in
# :ref:`sphx_glr_auto_tutorials_plot_17_torch_func.py`);
# :func:`pttour.softplus` calls it, and refuses integer tensors.

import pttour

points = torch.linspace(-30, 30, 61, device=device)
ours = Softplus.apply(points)
print("same as pttour:", torch.equal(ours, pttour.softplus(points)))

# %%
# First and second derivatives
# ----------------------------
#
# ``torch.autograd.grad`` with ``create_graph=True`` records the backward pass
# itself, so its result can be differentiated again. We compare both
# derivatives with their closed forms, ``sigmoid(x)`` and ``sigmoid(x) * (1 -
# sigmoid(x))``, and draw them. From here on the page runs in float64 on the
# CPU: gradient checks need float64, which Apple's MPS lacks.

xs = torch.linspace(-6, 6, 241, dtype=torch.float64, requires_grad=True)
values = Softplus.apply(xs)
(first,) = torch.autograd.grad(values.sum(), xs, create_graph=True)
(second,) = torch.autograd.grad(first.sum(), xs)
sigmoid = torch.sigmoid(xs.detach())
print("first derivative = sigmoid:", torch.allclose(first, sigmoid))
second_ok = torch.allclose(second, sigmoid * (1 - sigmoid))
print("second derivative = sigmoid(1 - sigmoid):", second_ok)

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(xs.detach(), values.detach(), label="f(x)")
ax.plot(xs.detach(), first.detach(), label="f′(x)")
ax.plot(xs.detach(), second, label="f″(x)")
ax.set_xlabel("x")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
# .. figure-caption::
#
#    Softplus ``f(x)`` (blue), its first derivative ``f′(x)`` from the
#    backward (orange) and its second derivative ``f″(x)`` from double
#    backward (green), for ``x`` from -6 to 6.
#
# The slope rises from 0 to 1; the curvature peaks at 0, where it is ``1/4``.
#
# Checking the gradients
# ----------------------
#
# Usually the backward *is* the only formula you have. ``gradcheck`` compares
# it with finite differences of the forward, calling the backward with one
# unit vector at a time as ``grad_output``; ``gradgradcheck`` does the same for
# the backward itself. Both want float64 inputs that require grad, and return
# ``True`` or raise ``GradcheckError``
# (:ref:`sphx_glr_auto_tutorials_plot_09_gradcheck.py` explains them).
# :func:`pttour.verify_gradients` is the tested version of the two calls: it
# runs both and returns both verdicts with torch's explanation.

x = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
print("gradcheck:", torch.autograd.gradcheck(Softplus.apply, (x,)))
print("gradgradcheck:", torch.autograd.gradgradcheck(Softplus.apply, (x,)))
print(pttour.verify_gradients(Softplus.apply, x).message)

# %%
# A backward that cannot be differentiated
# ----------------------------------------
#
# When the backward calls NumPy or a compiled kernel, the decorator
# ``once_differentiable`` (from ``torch.autograd.function``) runs it without
# recording it, and puts in its place a node that raises an error when it
# runs. That node exists only when ``grad_output`` itself requires grad (for
# ``sum(f(x) ** 2)``, not for ``sum(f(x))``), and only ``.backward()`` reaches
# it: ``torch.autograd.grad`` runs only the nodes that lead to its inputs.
# Where it is not reached, the function's part of the second derivative is
# silently missing. We add ``sum(x**3)``, whose second derivative ``6x`` is
# not touched, so that what goes missing shows.

import textwrap

from torch.autograd.function import once_differentiable


class OnceSoftplus(Softplus):
    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


losses = {
    "sum(f(x))": lambda f: f(x).sum(),
    "sum(f(x)**2)": lambda f: (f(x) ** 2).sum(),
}
for name, loss in losses.items():
    print(f"second derivative of {name} + sum(x**3):")
    for function in (Softplus, OnceSoftplus):
        total = loss(function.apply) + (x**3).sum()
        (slope,) = torch.autograd.grad(total, x, create_graph=True)
        (by_grad,) = torch.autograd.grad(slope.sum(), x, retain_graph=True)
        x.grad = None
        try:
            slope.sum().backward()
            by_backward = rounded(x.grad, 2)
        except RuntimeError as err:
            by_backward, error = "RuntimeError", err
        print(
            f"  {function.__name__:12} grad: {rounded(by_grad, 2)}, "
            f"backward: {by_backward}"
        )
print(textwrap.fill(f"RuntimeError: {error}", 79))

# %%
# ``OnceSoftplus`` loses the curvature of softplus everywhere but in
# ``.backward()`` after a ``grad_output`` that requires grad: if second
# derivatives matter, write the backward with differentiable torch operations.
# ``gradgradcheck`` catches every case:

from torch.autograd.gradcheck import GradcheckError

try:
    torch.autograd.gradgradcheck(lambda t: OnceSoftplus.apply(t) + t**3, (x,))
except GradcheckError as err:
    print(f"GradcheckError: {str(err).splitlines()[0]}")

# %%
# Takeaways
# ---------
#
# - Write a ``Function`` for a derivative autograd lacks, gets wrong or cannot
#   see, or computes slowly; otherwise let autograd differentiate.
# - Save tensors in ``setup_context``; return ``grad_output`` times the slope.
# - A backward of differentiable torch operations has right second
#   derivatives; ``once_differentiable`` can drop them silently.
# - Check a backward in float64 with ``gradcheck`` and ``gradgradcheck``.
#
# Next: :ref:`sphx_glr_auto_tutorials_plot_17_torch_func.py` transforms
# functions, this one included, with ``torch.func``.
#
# Exercises
# ---------
#
# Exercise 1 ★: predict what a forgotten ``grad_output`` does
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# This backward forgets to multiply by ``grad_output``. Without running it,
# predict the two gradients it prints; then compare them with those of
# ``Softplus``.
#
# .. code-block:: python
#
#    class ForgetsGradOutput(Softplus):
#        @staticmethod
#        def backward(ctx, grad_output):
#            (x,) = ctx.saved_tensors
#            return torch.sigmoid(x)
#
#    x = torch.tensor([0.0, 2.0], requires_grad=True)
#    ForgetsGradOutput.apply(x).sum().backward()
#    print(rounded(x.grad))
#    x.grad = None
#    (3 * ForgetsGradOutput.apply(x)).sum().backward()
#    print(rounded(x.grad))
#
# .. solution::
#
#    Solution
#
#    The gradient of a sum is 1 for every element, so the first call passes a
#    ``grad_output`` of ones and the bug does not show. With the factor 3,
#    the right gradient is three times ``sigmoid(x)``.


class ForgetsGradOutput(Softplus):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return torch.sigmoid(x)


for function in (ForgetsGradOutput, Softplus):
    x = torch.tensor([0.0, 2.0], requires_grad=True)
    function.apply(x).sum().backward()
    plain = rounded(x.grad)
    x.grad = None
    (3 * function.apply(x)).sum().backward()
    print(f"{function.__name__:17} sum: {plain}, 3 * sum: {rounded(x.grad)}")
    factor = 3 if function is Softplus else 1
    assert torch.allclose(x.grad, factor * torch.sigmoid(x.detach()))

# %%
# Exercise 2 ★★: which of these three backward functions is wrong?
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# ``A``, ``B`` and ``C`` below inherit the forward of ``Softplus`` and replace
# its backward by one of these lines. Which are right, to first and to second
# order? Predict, then check all three with :func:`pttour.verify_gradients`.
#
# .. code-block:: python
#
#    return grad_output / (1 + torch.exp(-x))  # A's backward
#    return grad_output * torch.sigmoid(x).detach()  # B's backward
#    return grad_output * torch.sigmoid(-x)  # C's backward
#
# .. solution::
#
#    Solution
#
#    ``A`` is ``sigmoid`` written out, and right. ``B`` computes the right
#    numbers, but to autograd the detached factor is a constant: double
#    backward loses its part of the second derivative. ``C`` is wrong from the
#    first order on (``sigmoid(-x)`` is ``1 - sigmoid(x)``).


def with_backward(rule):  # a Softplus whose backward is rule(grad_output, x)
    class Candidate(Softplus):
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return rule(grad_output, x)

    return Candidate


candidates = {
    "A": with_backward(lambda g, x: g / (1 + torch.exp(-x))),
    "B": with_backward(lambda g, x: g * torch.sigmoid(x).detach()),
    "C": with_backward(lambda g, x: g * torch.sigmoid(-x)),
}
x = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
verdicts = {}
for name, candidate in candidates.items():
    result = pttour.verify_gradients(candidate.apply, x)
    verdicts[name] = (result.first_order_ok, result.second_order_ok)
    print(f"{name}: first and second order {verdicts[name]}")
expected = {"A": (True, True), "B": (True, False), "C": (False, None)}
assert verdicts == expected

# %%
# Exercise 3 ★★★: a length whose gradient at zero is defined
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The gradient of a vector's length, ``x.pow(2).sum().sqrt()``, is ``x /
# length``. At ``x = 0`` autograd multiplies the infinite slope of ``sqrt`` by
# zero and returns ``nan``. Write a ``Function`` whose gradient is 0 there, as
# ``torch.linalg.vector_norm``'s is, and check it at 0 and away from 0.
#
# .. solution::
#
#    Solution
#
#    Save the input and the output, and divide by the length kept away from
#    zero: at zero the numerator is zero too. The length has a kink at zero,
#    so only the first order is checked there.


class Length(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x.pow(2).sum().sqrt()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], output)

    @staticmethod
    def backward(ctx, grad_output):
        x, length = ctx.saved_tensors
        tiny = torch.finfo(x.dtype).tiny  # the smallest normal number
        return grad_output * x / length.clamp(min=tiny)


zero = torch.zeros(3, dtype=torch.float64, requires_grad=True)
(naive,) = torch.autograd.grad(zero.pow(2).sum().sqrt(), zero)
(ours,) = torch.autograd.grad(Length.apply(zero), zero)
print(f"gradient at 0: autograd {naive.tolist()}, Length {ours.tolist()}")
assert naive.isnan().all()
assert torch.equal(ours, torch.zeros_like(zero))
point = torch.tensor([3.0, -4.0, 1.0], dtype=torch.float64).requires_grad_()
at_0 = pttour.verify_gradients(Length.apply, zero, check_second_order=False)
away = pttour.verify_gradients(Length.apply, point)
print(f"checks pass at 0: {at_0.passed}, away from 0: {away.passed}")
assert at_0.passed
assert away.passed
