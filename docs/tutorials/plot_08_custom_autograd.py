"""
Custom autograd functions
=========================

Autograd knows the derivative of every PyTorch operation, so most code never needs a
hand-written gradient. Sometimes you still want to supply one: the formula autograd would
differentiate is unstable, the backward can be made cheaper by hand, or the forward calls
code autograd cannot see. ``torch.autograd.Function`` lets you write the forward and the
backward yourself, and autograd then trusts your backward completely. After this tutorial
you will be able to:

* decide when a custom ``torch.autograd.Function`` is worth writing, and when it is not;
* read and write one whose backward can itself be differentiated, so that second
  derivatives work, with :class:`pttour.SoftplusFunction` as the model;
* verify its first and second derivatives with ``torch.autograd.gradcheck`` and
  ``torch.autograd.gradgradcheck``, with :func:`pttour.verify_gradients` and with
  :func:`pttour.check_function_gradients`;
* recognise two bugs that ordinary training does not reveal: a backward that ignores
  ``grad_output``, and a backward that detaches.
"""

# %%
# Setting up
# ----------
#
# We pick the device once and seed the random number generator. ``gradgradcheck`` draws
# random numbers, so the seed keeps every number on this page the same on every build.

import torch

import pttour

device = pttour.pick_device()
torch.manual_seed(0)
print(f"device: {device}")

# %%
# When a custom function is worth it
# ----------------------------------
#
# Write a ``torch.autograd.Function`` when autograd's own derivative is not good enough:
#
# - **numerical stability**: the formula autograd would differentiate overflows or loses
#   precision, while a rewritten forward or backward does not;
# - **speed or memory**: a backward written by hand can save fewer tensors or fuse several
#   steps into one;
# - **operations autograd cannot see**: the forward calls NumPy or a compiled library, or
#   it is not differentiable and you choose a surrogate gradient on purpose (the
#   straight-through estimator of quantisation is one).
#
# Do not write one when the forward is a stable composition of torch operations: autograd
# already differentiates it correctly, and a hand-written backward only adds a place for
# mistakes.
#
# Softplus, ``log(1 + exp(x))``, shows the first reason. Written literally, ``exp(x)``
# overflows in float32 above ``x = 88``: the value becomes ``inf`` and the gradient ``nan``,
# although the true value is almost ``x`` and the true slope almost 1.

x = torch.tensor([1.0, 100.0], device=device, requires_grad=True)
naive = torch.log(1 + torch.exp(x))
naive.sum().backward()
print("naive   value:", naive.tolist(), " gradient:", x.grad.tolist())

x = torch.tensor([1.0, 100.0], device=device, requires_grad=True)
stable = pttour.softplus(x)
stable.sum().backward()
print("softplus value:", [round(v, 4) for v in stable.tolist()], " gradient:", x.grad.tolist())

# %%
# (PyTorch ships ``torch.nn.functional.softplus``, which is stable too; softplus is used here
# because it is the smallest function with a useful second derivative.)
#
# The anatomy of a Function
# -------------------------
#
# :class:`pttour.SoftplusFunction` is written in the style that ``torch.func`` transforms and
# double backward expect. Here are its methods, printed from the installed library:

import inspect

for method in ("forward", "setup_context", "backward", "jvp"):
    print(inspect.getsource(getattr(pttour.SoftplusFunction, method)))

# %%
# - ``forward`` computes the output from the inputs only. It uses the stable form
#   ``max(x, 0) + log1p(exp(-|x|))``, in which ``exp`` never sees a positive argument.
# - ``setup_context`` receives the inputs and the output and saves what the derivatives
#   need. ``ctx.save_for_backward`` is the right way to keep a tensor: autograd then notices
#   if it is modified in place before the backward runs.
# - ``backward`` receives ``grad_output``, the gradient of the final loss with respect to
#   this function's output, and returns the gradient with respect to its input. The chain
#   rule makes it ``grad_output`` times the local derivative, here ``sigmoid(x)``.
# - ``jvp`` is the forward-mode counterpart, used by ``torch.func.jacfwd``; the class
#   attribute ``generate_vmap_rule = True`` lets ``torch.func.vmap`` batch the function. The
#   next tutorial, :ref:`sphx_glr_auto_tutorials_plot_09_torch_func.py`, uses both.
#
# The backward uses only differentiable torch operations on the saved input. That is what
# makes the second derivative work: autograd records the backward as it runs and can
# differentiate it in turn.
#
# A Function is called through ``.apply``, which accepts anything and checks nothing;
# :func:`pttour.softplus` wraps it with a normal signature and rejects integer tensors.

x = torch.tensor([-1.0, 0.0, 1000.0], dtype=torch.float64, device=device, requires_grad=True)
print("apply  :", [round(v, 4) for v in pttour.SoftplusFunction.apply(x).tolist()])
print("wrapper:", [round(v, 4) for v in pttour.softplus(x).tolist()])
try:
    pttour.softplus(torch.tensor([1, 2]))
except TypeError as err:
    print(f"TypeError: {err}")

# %%
# First and second derivatives
# ----------------------------
#
# ``torch.autograd.grad`` with ``create_graph=True`` records the backward pass itself, so its
# result can be differentiated again. The first derivative of softplus is ``sigmoid(x)`` and
# the second is ``sigmoid(x) * (1 - sigmoid(x))``; we compare both with these closed forms
# on 241 points of ``[-6, 6]``.

xs = torch.linspace(-6, 6, 241, dtype=torch.float64, device=device, requires_grad=True)
values = pttour.softplus(xs)
(first,) = torch.autograd.grad(values.sum(), xs, create_graph=True)
(second,) = torch.autograd.grad(first.sum(), xs)

sigmoid = torch.sigmoid(xs.detach())
print("first derivative  = sigmoid:", torch.allclose(first, sigmoid))
print(
    "second derivative = sigmoid * (1 - sigmoid):", torch.allclose(second, sigmoid * (1 - sigmoid))
)

# %%
# The figure shows the function and the two derivatives that autograd computed from the
# hand-written backward: the slope rises from 0 to 1, and the curvature peaks at 0, where
# it equals ``1/4``.

import matplotlib.pyplot as plt

grid = xs.detach().cpu()
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(grid, values.detach().cpu(), label="softplus(x)")
ax.plot(grid, first.detach().cpu(), label="first derivative (backward)")
ax.plot(grid, second.cpu(), label="second derivative (double backward)")
ax.set_xlabel("x")
ax.set_ylabel("value")
ax.set_title("Softplus and its derivatives from autograd")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
# Verifying the gradients
# -----------------------
#
# Agreement with a closed form is a luxury: usually the backward *is* the only formula you
# have. The general test compares it with finite differences of the forward, which need
# nothing but the forward pass. ``torch.autograd.gradcheck`` builds the full Jacobian both
# ways, numerically one input element at a time and analytically by calling the backward
# with one unit vector at a time as ``grad_output``. ``torch.autograd.gradgradcheck`` does the
# same for the backward itself, which checks the second derivatives. Both want float64
# inputs with ``requires_grad=True``, and both return ``True`` or raise ``GradcheckError``.

x = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, device=device, requires_grad=True)
print("gradcheck:    ", torch.autograd.gradcheck(pttour.softplus, (x,)))
print("gradgradcheck:", torch.autograd.gradgradcheck(pttour.softplus, (x,)))

# %%
# :func:`pttour.verify_gradients` runs both checks and returns a
# :class:`pttour.GradientVerification` with both verdicts and an explanation, instead of
# one ``True`` or an exception. It skips the second check when the first fails, since the
# derivative of a wrong backward proves nothing.

result: pttour.GradientVerification = pttour.verify_gradients(pttour.softplus, x)
print("passed:", result.passed)
print("first order:", result.first_order_ok, " second order:", result.second_order_ok)
print(result.message)

# %%
# The library's own checker, :func:`pttour.check_function_gradients`, met in
# :ref:`sphx_glr_auto_tutorials_plot_05_gradient_checking.py`, answers a different
# question: *how far* is the backward from finite differences, for each input? It reduces
# the output to one number by a fixed random projection and returns a table of error sizes,
# which tells a rounding-level difference from a real bug at a glance.

print(pttour.check_function_gradients(pttour.softplus, x))

# %%
# Catching a wrong backward
# -------------------------
#
# :class:`pttour.WrongBackwardSoftplus` is the same function with a deliberate one-line bug:
# its backward returns ``sigmoid(x)`` and forgets to multiply by ``grad_output``. Every tool
# above catches it. ``GradcheckError`` is imported from the module ``torch.autograd.gradcheck``
# (the attribute of the same name on ``torch.autograd`` is the function).

from torch.autograd.gradcheck import GradcheckError

try:
    torch.autograd.gradcheck(pttour.WrongBackwardSoftplus.apply, (x,))
except GradcheckError as err:
    print(f"GradcheckError: {err}")

# %%
# The numerical Jacobian is diagonal: each output depends on its own input only. Every
# column of the analytical one is the same vector, ``sigmoid(x)``, because whatever unit
# vector ``gradcheck`` passes as ``grad_output``, the wrong backward returns the same tensor.
# :func:`pttour.verify_gradients` reports the same mismatch and does not run the second
# check, and :func:`pttour.check_function_gradients` marks the input ``FAIL`` with a
# relative error above 1.

wrong = pttour.verify_gradients(pttour.WrongBackwardSoftplus.apply, x)
print("first order:", wrong.first_order_ok, " second order:", wrong.second_order_ok)
print()
print(pttour.check_function_gradients(pttour.WrongBackwardSoftplus.apply, x))

# %%
# Pitfalls reproduced live
# ------------------------
#
# Pitfall: a smoke test with ``.sum().backward()``
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A common quick test of a custom function is to call ``.sum().backward()`` and look at the
# gradient. It does not catch the bug above: the gradient of a sum with respect to each
# element is 1, so autograd passes ``grad_output`` as all ones, and forgetting to multiply by
# it changes nothing.

x = torch.tensor([0.0, 1.0], dtype=torch.float64, device=device, requires_grad=True)
pttour.WrongBackwardSoftplus.apply(x).sum().backward()
print("wrong backward:", [round(v, 4) for v in x.grad.tolist()])
print("sigmoid(x):    ", [round(v, 4) for v in torch.sigmoid(x.detach()).tolist()])

# %%
# Any other loss exposes it. With a weighted sum, ``grad_output`` holds the weights, and the
# correct gradient is the weights times ``sigmoid(x)``; the wrong backward drops them.

weights = torch.tensor([2.0, 3.0], dtype=torch.float64, device=device)
for label, function in (
    ("WrongBackwardSoftplus", pttour.WrongBackwardSoftplus.apply),
    ("softplus", pttour.softplus),
):
    (gradient,) = torch.autograd.grad((weights * function(x)).sum(), x)
    print(f"{label:<22}", [round(v, 4) for v in gradient.tolist()])

# %%
# So a model using the wrong function trains, its loss may even decrease, and its gradients
# are wrong. The fix is to test with tools that vary ``grad_output``, as ``gradcheck`` does
# with unit vectors and :func:`pttour.check_function_gradients` with a random projection.
#
# Pitfall: a backward that detaches
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The backward below computes the right numbers, but it calls ``.detach()``, a habit from
# code that converts tensors to NumPy. The detached factor is a constant to autograd, so
# double backward loses the part of the second derivative that flows through it.


class DetachedBackwardSoftplus(pttour.SoftplusFunction):
    """Softplus whose backward detaches sigmoid(x): right first order, wrong second."""

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x).detach()  # autograd cannot see through this


x = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, device=device, requires_grad=True)
print("gradcheck:", torch.autograd.gradcheck(DetachedBackwardSoftplus.apply, (x,)))
detached = pttour.verify_gradients(DetachedBackwardSoftplus.apply, x)
print("first order:", detached.first_order_ok, " second order:", detached.second_order_ok)
print(detached.message)

# %%
# The first-order check passes, so a training run would never notice. The error appears
# only in second derivatives, as used by Hessian-vector products, gradient penalties and
# some meta-learning methods, and there it is silent: no exception, just a different
# number. Here is the second derivative of ``sum(softplus(x) ** 2)`` both ways.

for label, function in (
    ("DetachedBackwardSoftplus", DetachedBackwardSoftplus.apply),
    ("softplus", pttour.softplus),
):
    (gradient,) = torch.autograd.grad((function(x) ** 2).sum(), x, create_graph=True)
    (curvature,) = torch.autograd.grad(gradient.sum(), x)
    print(f"{label:<25}", [round(v, 4) for v in curvature.tolist()])

# %%
# The fix is the rule :class:`pttour.SoftplusFunction` follows: build the backward from
# differentiable torch operations on the saved tensors. When that is impossible, because the
# backward calls NumPy or a compiled kernel, decorate it with
# ``@torch.autograd.function.once_differentiable``: double backward then stops with an error
# instead of returning a wrong number.
#
# Pitfall: checking in float32
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# It is tempting to check a function in the precision it trains in. In float32, finite
# differences are dominated by rounding error, so ``gradcheck`` warns and then fails even for
# the correct softplus.

import warnings

x32 = torch.tensor([-2.0, 0.5, 3.0], device=device, requires_grad=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        torch.autograd.gradcheck(pttour.softplus, (x32,))
    except GradcheckError as err:
        print(f"GradcheckError: {err}")
for warning in caught:
    print(f"{warning.category.__name__}: {warning.message}")

# %%
# A false alarm is almost as harmful as a missed bug, because it teaches you to ignore the
# check. :func:`pttour.verify_gradients` refuses float32 inputs with an explanation;
# check in float64, as above, and train in whatever precision you like.

try:
    pttour.verify_gradients(pttour.softplus, x32)
except TypeError as err:
    print(f"TypeError: {err}")

# %%
# Takeaways
# ---------
#
# - Write a ``torch.autograd.Function`` only for stability, speed or an operation autograd
#   cannot see; otherwise let autograd differentiate your torch code.
# - Keep ``forward`` free of ``ctx``, save tensors in ``setup_context`` with
#   ``ctx.save_for_backward``, and return ``grad_output`` times the local derivative.
# - Build the backward from differentiable torch operations (no ``.detach()``, NumPy or
#   ``.item()``), so that second derivatives are right; mark it ``once_differentiable`` when
#   that is impossible.
# - ``.sum().backward()`` proves nothing about a backward: check it in float64 against
#   finite differences, first and second order.
# - The library packages these lessons: :class:`pttour.SoftplusFunction` and
#   :func:`pttour.softplus` as a model to copy, :func:`pttour.verify_gradients` (which
#   returns a :class:`pttour.GradientVerification`) and
#   :func:`pttour.check_function_gradients` to check, and
#   :class:`pttour.WrongBackwardSoftplus` as the bug they catch.
#
# Next: :ref:`sphx_glr_auto_tutorials_plot_09_torch_func.py` transforms functions, this one
# included, with ``torch.func``.
