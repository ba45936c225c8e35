"""
Custom autograd functions
=========================

Autograd differentiates code built from PyTorch operations, so most code never
needs a hand-written gradient. Sometimes you still want to write one: an
operation has no derivative, autograd's derivative of your formula is wrong or
unstable somewhere, or the forward calls code autograd cannot see.
``torch.autograd.Function`` lets you write the forward and the backward
yourself, and autograd then trusts your backward completely. After this
tutorial you will be able to decide when a custom ``Function`` is worth
writing, write one whose backward can itself be differentiated, and check its
first and second derivatives with ``torch.autograd.gradcheck`` and
``torch.autograd.gradgradcheck``.

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

device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)


def naive_softplus(x):
    return torch.log(1 + torch.exp(x))


def stable_softplus(x):
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))


for formula in (naive_softplus, stable_softplus):
    x = torch.tensor([0.0, 100.0], device=device, requires_grad=True)
    value = formula(x)
    value.sum().backward()
    rounded = [round(v, 4) for v in value.tolist()]
    print(f"{formula.__name__}: value {rounded}, slope {x.grad.tolist()}")

# %%
# (PyTorch's own ``torch.nn.functional.softplus`` is right everywhere; use it
# in real code. Softplus is here because it is the smallest function with a
# useful second derivative.) These are the reasons to write a ``Function``:
#
# - the derivative autograd would compute is **missing, wrong or unstable**;
# - a hand-written backward is **cheaper**: it saves fewer tensors or fuses
#   several steps;
# - the forward calls **code autograd cannot see**, such as NumPy or a compiled
#   library.
#
# When the forward is a composition of torch operations whose derivative is
# right, do not write one: a hand-written backward only adds a place for
# mistakes.
#
# Writing the Function
# --------------------
#
# ``forward`` computes the output from the inputs. ``setup_context`` saves what
# the backward needs; ``ctx.save_for_backward`` is the way to keep a tensor,
# because autograd then notices if it is modified in place before the backward
# runs. ``backward`` receives ``grad_output``, the gradient of the final loss
# with respect to this function's output, and returns the gradient with respect
# to each input: by the chain rule, ``grad_output`` times the local derivative,
# here ``sigmoid(x)``.


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
print(
    f"Softplus: value {[round(v, 4) for v in value.tolist()]}, slope {x.grad.tolist()}"
)

# %%
# The backward uses only differentiable torch operations on the saved input.
# That is what makes the second derivative work: autograd records the backward
# as it runs and can differentiate it in turn. :class:`pttour.SoftplusFunction`
# is the tested version of this class; it adds a ``jvp`` method, the
# forward-mode derivative that ``torch.func.jacfwd`` uses in
# :ref:`sphx_glr_auto_tutorials_plot_17_torch_func.py`.

import pttour

points = torch.linspace(-30, 30, 61, device=device)
print(
    "same as pttour:",
    torch.equal(Softplus.apply(points), pttour.SoftplusFunction.apply(points)),
)

# %%
# First and second derivatives
# ----------------------------
#
# ``torch.autograd.grad`` with ``create_graph=True`` records the backward pass
# itself, so its result can be differentiated again. The first derivative of
# softplus is ``sigmoid(x)`` and the second is ``sigmoid(x) * (1 -
# sigmoid(x))``; we compare both with these closed forms. The checks on this
# page run in float64 on the CPU: gradient checks need float64, which not every
# accelerator has (Apple's MPS has none), and the tensors are tiny.

xs = torch.linspace(-6, 6, 241, dtype=torch.float64, requires_grad=True)
values = Softplus.apply(xs)
(first,) = torch.autograd.grad(values.sum(), xs, create_graph=True)
(second,) = torch.autograd.grad(first.sum(), xs)
sigmoid = torch.sigmoid(xs.detach())
print("first derivative = sigmoid:", torch.allclose(first, sigmoid))
print(
    "second derivative = sigmoid(1 - sigmoid):",
    torch.allclose(second, sigmoid * (1 - sigmoid)),
)

# %%
# The slope rises from 0 to 1, and the curvature peaks at 0, where it equals
# ``1/4``.

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(xs.detach(), values.detach(), label="softplus(x)")
ax.plot(xs.detach(), first.detach(), label="first derivative (backward)")
ax.plot(xs.detach(), second, label="second derivative (double backward)")
ax.set_xlabel("x")
ax.set_title("Softplus and its derivatives from autograd")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
# Checking the gradients
# ----------------------
#
# Usually the backward *is* the only formula you have, with no closed form to
# compare. ``torch.autograd.gradcheck`` compares it with finite differences of
# the forward: it builds the Jacobian both ways, numerically one input element
# at a time, and analytically by calling the backward with one unit vector at a
# time as ``grad_output``. ``torch.autograd.gradgradcheck`` does the same for
# the backward itself, which checks the second derivatives. Both want float64
# inputs with ``requires_grad=True``: in float32 the finite differences drown
# in rounding error, and ``gradcheck`` warns and then fails even for a correct
# function. Both return ``True`` or raise ``GradcheckError``
# (:ref:`sphx_glr_auto_tutorials_plot_09_gradcheck.py` explains both).

x = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
print("gradcheck:", torch.autograd.gradcheck(Softplus.apply, (x,)))
print("gradgradcheck:", torch.autograd.gradgradcheck(Softplus.apply, (x,)))

# %%
# :func:`pttour.verify_gradients` is the tested version of these two calls: it
# runs both and returns both verdicts with torch's explanation, instead of
# ``True`` or an exception.

print(pttour.verify_gradients(Softplus.apply, x).message)

# %%
# Pitfalls reproduced live
# ------------------------
#
# A backward that ignores ``grad_output``
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A common quick test of a custom function is ``.sum().backward()``. It cannot
# catch a backward that forgets to multiply by ``grad_output``: the gradient of
# a sum is 1 for every element, so ``grad_output`` is all ones. A weighted sum
# exposes the bug, and so does ``gradcheck``.

from torch.autograd.gradcheck import GradcheckError


class ForgetsGradOutput(Softplus):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return torch.sigmoid(x)  # BUG: should be grad_output * sigmoid(x)


weights = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
for function in (Softplus, ForgetsGradOutput):
    (plain,) = torch.autograd.grad(function.apply(x).sum(), x)
    (weighted,) = torch.autograd.grad((weights * function.apply(x)).sum(), x)
    plain, weighted = [
        [round(v, 3) for v in g.tolist()] for g in (plain, weighted)
    ]
    print(f"{function.__name__:17} sum: {plain}  weighted sum: {weighted}")
try:
    torch.autograd.gradcheck(ForgetsGradOutput.apply, (x,))
except GradcheckError as err:
    print(f"GradcheckError: {err}")

# %%
# Every column of the analytical Jacobian is ``sigmoid(x)``: whatever unit
# vector ``gradcheck`` passes as ``grad_output``, the wrong backward returns
# the same tensor. A model built on it trains, its loss may even decrease, and
# its gradients are wrong.
#
# A backward that detaches
# ~~~~~~~~~~~~~~~~~~~~~~~~
#
# This backward computes the right numbers, but calls ``.detach()``, a habit
# from code that converts tensors to NumPy. To autograd the detached factor is
# a constant, so double backward loses the part of the second derivative that
# flows through it. ``gradcheck`` passes; ``gradgradcheck`` does not.


class DetachingBackward(Softplus):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return (
            grad_output * torch.sigmoid(x).detach()
        )  # autograd cannot see through this


print("gradcheck:", torch.autograd.gradcheck(DetachingBackward.apply, (x,)))
try:
    torch.autograd.gradgradcheck(DetachingBackward.apply, (x,))
except GradcheckError as err:
    print(f"GradcheckError: {err}")

# %%
# ``once_differentiable`` does not always stop double backward
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# When the backward cannot be built from differentiable torch operations,
# because it calls NumPy or a compiled kernel, PyTorch offers the decorator
# ``once_differentiable`` from ``torch.autograd.function``. It turns double
# backward into an error only in some cases, for example when the backward's
# ``grad_output`` itself requires grad. In the others, the function's part of
# the second derivative is silently dropped. With ``f(x) = sum(softplus(x)) +
# sum(x**3)`` the sum passes a constant ``grad_output``, so the curvature of
# softplus is missing and only the ``6x`` of the cube is left.

from torch.autograd.function import once_differentiable


class OnceSoftplus(Softplus):
    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


(slope,) = torch.autograd.grad(
    (OnceSoftplus.apply(x) ** 2).sum(), x, create_graph=True
)
try:
    slope.sum().backward()
except RuntimeError as err:
    print(f"sum(softplus(x)**2): RuntimeError: {err}")
for function in (Softplus, OnceSoftplus):
    (slope,) = torch.autograd.grad(
        function.apply(x).sum() + (x**3).sum(), x, create_graph=True
    )
    x.grad = None
    slope.sum().backward()
    print(
        f"{function.__name__:12} second derivative {[round(v, 3) for v in x.grad.tolist()]}"
    )
try:
    torch.autograd.gradgradcheck(lambda t: OnceSoftplus.apply(t) + t**3, (x,))
except GradcheckError as err:
    print(f"GradcheckError: {err}")

# %%
# So ``once_differentiable`` is no guarantee: if second derivatives matter,
# write the backward with differentiable torch operations, and check it with
# ``gradgradcheck``, which compares the second derivatives with finite
# differences and catches the dropped term.
#
# Takeaways
# ---------
#
# - Write a ``torch.autograd.Function`` only when autograd's derivative is
#   missing, wrong or unstable, when a backward by hand is cheaper, or for code
#   autograd cannot see.
# - Keep ``forward`` free of ``ctx``, save tensors in ``setup_context`` with
#   ``ctx.save_for_backward``, and return ``grad_output`` times the local
#   derivative.
# - Build the backward from differentiable torch operations (no ``.detach()``,
#   NumPy or ``.item()``), so that second derivatives are right;
#   ``once_differentiable`` does not always turn a missing second derivative
#   into an error.
# - ``.sum().backward()`` proves nothing about a backward: check it in float64
#   with ``gradcheck`` and ``gradgradcheck``, which vary ``grad_output``.
#
# Next: :ref:`sphx_glr_auto_tutorials_plot_17_torch_func.py` transforms
# functions, this one included, with ``torch.func``.
