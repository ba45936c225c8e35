"""
Checking gradients by hand
==========================

A gradient check measures a gradient a second way, by finite differences, and
compares the two. The article's §4.3 writes one by hand; this page writes it
again and fixes its mistakes on the way. After this tutorial you will be able
to estimate the gradient of a loss with respect to each parameter element,
compare it with autograd's for every parameter of a model, and name what you
checked.

**What you need:** PyTorch ≥ 2.6, NumPy and pttour. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# The model and its gradients
# ---------------------------
#
# The article's model is one linear layer, ``fc1``, in float64, with targets on
# the plane ``3*x1 + x2``. ``backward()`` fills the ``.grad`` of both
# parameters.

import torch
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
before = [p.detach().clone() for p in net.parameters()]
loss_fn(net(inputs), targets).backward()

# %%
# .. _erratum-e16:
#
# Erratum E16: Parameters before and after backward
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article prints the parameters before and after ``loss.backward()``, as if
# the backward pass changed them. The two printouts are identical:

same = [
    torch.equal(b, p) for b, p in zip(before, net.parameters(), strict=True)
]
print("unchanged by backward():", same)

# %%
# ``backward()`` only fills ``.grad``; ``optimizer.step()`` changes the
# parameters, and the article creates an optimizer but never calls it. Print
# the gradients after ``backward()``, and compare the parameters around
# ``step()`` (:ref:`all errata <e16>`).

print("weight.grad:", net.fc1.weight.grad)
torch.optim.SGD(net.parameters(), lr=0.01).step()
same = [
    torch.equal(b, p) for b, p in zip(before, net.parameters(), strict=True)
]
print("unchanged by step():", same)
net.zero_grad()
loss_fn(net(inputs), targets).backward()  # the gradients at the new parameters

# %%
# A numerical gradient
# --------------------
#
# The derivative of the loss with respect to one number ``p`` is the slope of
# the loss near ``p``. Moving ``p`` a small step ``eps`` each way gives the
# *central difference* ``(loss(p + eps) - loss(p - eps)) / (2 * eps)``. For a
# tensor we move one element at a time, which gives one partial derivative per
# element, and put each element back afterwards. The changes happen under
# ``torch.no_grad()``, so that autograd does not record them. Why float64 and a
# step of ``1e-6``: :ref:`sphx_glr_auto_tutorials_plot_09_gradcheck.py` shows
# it.


def numerical_gradient(
    loss_of, param: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """d(loss_of())/d(param) by central differences, one number per element of param."""
    grad = torch.zeros_like(param)
    flat, flat_grad = param.detach().view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            original = flat[i].item()
            flat[i] = original + eps
            up = loss_of().item()
            flat[i] = original - eps
            down = loss_of().item()
            flat[i] = original
            flat_grad[i] = (up - down) / (2 * eps)
    return grad


def loss_of_net() -> torch.Tensor:
    return loss_fn(net(inputs), targets)


print("numerical:", numerical_gradient(loss_of_net, net.fc1.weight))
print("autograd: ", net.fc1.weight.grad)

# %%
# .. _erratum-e20:
#
# Erratum E20: Perturbing the inputs instead of the parameters
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# For its numerical gradient the article shifts *all the input data* by ``eps *
# i``, for each sample index ``i``, and takes the central difference of the
# loss:

eps = 1e-7
with torch.no_grad():
    per_sample = [
        (
            loss_fn(net(inputs + eps * i), targets)
            - loss_fn(net(inputs - eps * i), targets)
        ).item()
        / (2 * eps)
        for i in range(len(inputs))
    ]
print("first four values:", [round(v, 4) for v in per_sample[:4]])

# %%
# The first value is always 0, since nothing moves, and the others grow in
# proportion to ``i``: each is ``i`` times the derivative of the loss along a
# shift of every input. That is a derivative with respect to the data, and none
# of the 100 values is a parameter's gradient. The fix perturbs one *parameter
# element* at a time, as ``numerical_gradient`` does (:ref:`all errata <e20>`).
#
# .. _erratum-e19:
#
# Erratum E19: A random array and a NumPy derivative
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says it computes the numerical derivative with NumPy. The only
# "NumPy gradient" in its code is an array of random numbers with the
# gradient's shape, never used:

import numpy as np

print(
    "random array:",
    np.random.default_rng(0).normal(size=tuple(net.fc1.weight.grad.shape)),
)

# %%
# Random numbers are not a derivative of anything, and NumPy adds nothing: the
# numerical gradient comes from the torch loss at perturbed parameters
# (:ref:`all errata <e19>`).
#
# Comparing, parameter by parameter
# ---------------------------------
#
# ``torch.testing.assert_close`` checks the shapes, dtypes and devices, then
# every element against a relative and an absolute tolerance, and raises
# ``AssertionError`` naming the worst element. The loop skips a parameter
# without a gradient and names each one:

for name, param in net.named_parameters():
    if param.grad is None:
        print(f"{name}: no gradient, skipped")
        continue
    numerical = numerical_gradient(loss_of_net, param)
    torch.testing.assert_close(param.grad, numerical, rtol=1e-6, atol=1e-8)
    print(
        f"{name} passed, largest difference {(param.grad - numerical).abs().max():.1e}"
    )

# %%
# .. _erratum-e21:
#
# Erratum E21: Comparing arrays of different shapes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article subtracts its 100 values from each gradient array with NumPy. For
# the weight, shape ``(1, 2)``, NumPy refuses; for the bias, shape ``(1,)``, it
# broadcasts without a word:

try:
    np.abs(net.fc1.weight.grad.numpy() - per_sample)
except ValueError as err:
    print(f"ValueError: {err}")
print(
    "bias differences:", np.abs(net.fc1.bias.grad.numpy() - per_sample).shape
)

# %%
# The 100 bias differences compare numbers that have nothing to do with each
# other. Compute one numerical value per parameter element, as above, and
# compare with ``assert_close``, which fails when the shapes differ (:ref:`all
# errata <e21>`):

try:
    torch.testing.assert_close(torch.tensor(per_sample), net.fc1.weight.grad)
except AssertionError as err:
    print(f"AssertionError: {err}")

# %%
# .. _erratum-e18:
#
# Erratum E18: A guard that does not guard
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article tests ``param.grad is not None`` only around its type check, then
# calls ``param.grad.detach()`` for every parameter. A frozen parameter, or one
# the forward pass does not use, has no gradient:

frozen = nn.Linear(2, 1).double()
frozen.weight.requires_grad_(False)
loss_fn(frozen(inputs), targets).backward()
try:
    frozen.weight.grad.detach()
except AttributeError as err:
    print(f"AttributeError: {err}")

# %%
# Skip such parameters first, as the loop above does (:ref:`all errata <e18>`).
#
# .. _erratum-e17:
#
# Erratum E17: isinstance check against torch.DoubleTensor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article asserts ``isinstance(param.grad, torch.DoubleTensor)``. On the
# CPU this passes, but ``torch.DoubleTensor`` is a legacy type meaning "float64
# *on the CPU*": on any other device the same dtype fails. Every build has the
# ``meta`` device, which shows it anywhere:

grads = [
    net.fc1.weight.grad,
    torch.ones(2, dtype=torch.float64, device="meta"),
]
if torch.cuda.is_available():
    grads.append(torch.ones(2, dtype=torch.float64, device="cuda"))
for grad in grads:
    print(
        f"{grad.type()}: isinstance {isinstance(grad, torch.DoubleTensor)}",
        end=", ",
    )
    print(f"dtype is float64 {grad.dtype == torch.float64}")

# %%
# The fix is the second check: the dtype does not depend on the device
# (:ref:`all errata <e17>`).
#
# .. _erratum-e23:
#
# Erratum E23: param.name is None
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article reports each parameter with ``param.name``. A parameter does not
# know the name it is stored under, so every message names ``None``:

print(
    [f"{param.name} passed the gradient check" for param in net.parameters()]
)

# %%
# The names belong to the module: ``named_parameters()`` yields them, as in the
# loop above (:ref:`all errata <e23>`).
#
# .. _erratum-e46:
#
# Erratum E46: The loop checks parameters, not layers
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says it checks the gradient of each layer. Its loop runs over
# ``net.parameters()``: two parameters of the only layer.

print("layers:", [name for name, _ in net.named_children()])
print("parameters:", [name for name, _ in net.named_parameters()])

# %%
# A check per parameter is the right one, since the optimizer updates
# parameters: say so, and name them (:ref:`all errata <e46>`).
#
# The tested version
# ------------------
#
# :func:`pttour.check_model_gradients` is this loop, tested: for every
# parameter that requires gradients it compares autograd with central
# differences and reports the largest and the mean difference, leaving the
# model as it found it. It refuses a float32 model.

import pttour

print(pttour.check_model_gradients(net, loss_fn, inputs, targets))
try:
    pttour.check_model_gradients(
        net.float(), loss_fn, inputs.float(), targets.float()
    )
except TypeError as err:
    print(f"TypeError: {err}")

# %%
# Takeaways
# ---------
#
# - ``backward()`` fills ``.grad`` and changes no parameter;
#   ``optimizer.step()`` does.
# - Estimate each partial derivative by a central difference of the loss, one
#   parameter element at a time, in float64 with a step near ``1e-6``.
# - Compare with ``torch.testing.assert_close``, per parameter, named by
#   ``named_parameters()``; skip parameters whose ``.grad`` is ``None``.
# - Check a dtype with ``tensor.dtype``, not with ``isinstance`` and a legacy
#   type.
#
# Next, :ref:`sphx_glr_auto_tutorials_plot_09_gradcheck.py` uses PyTorch's own
# check, ``torch.autograd.gradcheck``, on a hand-written backward.
