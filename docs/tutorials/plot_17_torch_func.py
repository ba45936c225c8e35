"""
Function transforms with torch.func
===================================

``loss.backward()`` differentiates one number, the loss reduced over the batch
(a mean by default), and adds the result into the ``.grad`` of every parameter.
``torch.func`` offers another way: transforms that take a function and return a
new function, such as its gradient, its batched version or its Jacobian. After
this tutorial you will be able to get gradients as functions with
``torch.func.grad``, run a function written for one sample over a batch with
``torch.func.vmap``, compute Jacobians with ``jacrev`` and ``jacfwd`` and
choose the cheaper one, and compose them into what ``backward()`` cannot give:
the gradient of each sample.

**What you need:** PyTorch ≥ 2.6, pttour and matplotlib. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# grad: the gradient as a function
# --------------------------------
#
# ``grad(f)`` is a new function that returns the gradient of ``f`` with respect
# to its first argument. ``f`` must return a tensor with a single value and no
# dimensions, such as a loss. ``grad`` writes no ``.grad`` and needs no
# ``requires_grad``, and because the result is again a function,
# ``grad(grad(f))`` is the second derivative. Here ``f(x) = x * sin(x)``, whose
# derivatives we know in closed form.

import torch
from torch.func import grad

device = (
    torch.accelerator.current_accelerator()
    if torch.accelerator.is_available()
    else torch.device("cpu")
)
torch.manual_seed(0)


def f(x):
    return x * torch.sin(x)


x = torch.tensor(1.5, device=device)
print(
    f"f'(x)  = {grad(f)(x):.5f}, closed form {torch.sin(x) + x * torch.cos(x):.5f}"
)
print(
    f"f''(x) = {grad(grad(f))(x):.5f}, closed form {2 * torch.cos(x) - x * torch.sin(x):.5f}"
)

# %%
# A loss is a function of the parameters *and* the data; ``grad`` turns it into
# a function that returns the gradient with respect to the parameters, or, with
# ``argnums``, another argument.


def squared_error(w, x, y):
    """The loss of a linear model without bias on one sample."""
    return (x @ w - y) ** 2


w = torch.tensor([0.5, -1.0], device=device)
sample, target = (
    torch.tensor([1.0, 2.0], device=device),
    torch.tensor(3.0, device=device),
)
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
y = (
    X @ torch.tensor([3.0, 1.0], device=device)
    + 4
    + 0.5 * torch.randn(6, device=device)
)
batched = vmap(squared_error, in_dims=(None, 0, 0))(w, X, y)
looped = torch.stack([squared_error(w, X[i], y[i]) for i in range(len(X))])
print("same as the loop:", torch.allclose(batched, looped))

# %%
# Transforms compose. ``vmap(grad(squared_error))`` is the gradient of *each*
# sample's loss. A ``backward()`` cannot give these: it differentiates the
# reduced loss, here the mean of the six losses, and leaves one gradient for
# the whole batch, which is the mean of the six.

per_sample = vmap(grad(squared_error), in_dims=(None, 0, 0))(w, X, y)
w_param = w.clone().requires_grad_()
vmap(squared_error, in_dims=(None, 0, 0))(w_param, X, y).mean().backward()
same = torch.allclose(per_sample.mean(0), w_param.grad)
print(
    f"per-sample gradients {tuple(per_sample.shape)}, their mean == .grad: {same}"
)

# %%
# jacrev and jacfwd: two ways to a Jacobian
# -----------------------------------------
#
# For a function from ``n`` inputs to ``m`` outputs, the Jacobian is the ``m x
# n`` matrix of all partial derivatives. ``jacrev`` builds it with reverse
# mode, one row per vector-Jacobian product (what ``backward`` computes);
# ``jacfwd`` builds it with forward mode, one column per Jacobian-vector
# product. Both give the same matrix.

from torch.func import hessian, jacfwd, jacrev


def tanh_layer(v, matrix):
    return torch.tanh(matrix @ v)


v, W = (
    torch.tensor([0.3, -0.7], device=device),
    torch.randn(3, 2, device=device),
)
closed_form = (1 - torch.tanh(W @ v) ** 2).unsqueeze(
    1
) * W  # diag(1 - tanh^2) @ W
print("jacrev:", torch.allclose(jacrev(tanh_layer)(v, W), closed_form))
print("jacfwd:", torch.allclose(jacfwd(tanh_layer)(v, W), closed_form))

# %%
# They differ in cost. Reverse mode needs ``m`` products and forward mode
# ``n``, so ``jacrev`` is cheaper for a *wide* function (many inputs, few
# outputs, like a loss of many parameters) and ``jacfwd`` for a *tall* one (few
# inputs, many outputs). ``torch.utils.benchmark.Timer`` measures both: it
# repeats the call, and on a CUDA GPU waits for the device to finish. The ratio
# is what matters.

from torch.utils.benchmark import Timer


def milliseconds(function, *args):
    timer = Timer(
        "function(*args)", globals={"function": function, "args": args}
    )
    return 1e3 * timer.blocked_autorange(min_run_time=0.1).median


for m, n in ((4, 2000), (2000, 4)):
    matrix, inputs = (
        torch.randn(m, n, device=device),
        torch.randn(n, device=device),
    )
    rev = milliseconds(jacrev(tanh_layer), inputs, matrix)
    fwd = milliseconds(jacfwd(tanh_layer), inputs, matrix)
    print(
        f"{n} inputs -> {m} outputs: jacrev {rev:6.2f} ms, jacfwd {fwd:6.2f} ms"
    )

# %%
# A Hessian is the Jacobian of a gradient: ``torch.func.hessian(f)`` is
# ``jacfwd(jacrev(f))``. The transforms also work through a custom
# ``torch.autograd.Function`` written as in
# :ref:`sphx_glr_auto_tutorials_plot_16_custom_autograd.py`.
# :class:`pttour.SoftplusFunction`, the tested softplus of that page, sets
# ``generate_vmap_rule = True`` for ``vmap`` and has a ``jvp`` method for
# forward mode. Its derivative is ``sigmoid``, and the Hessian of
# ``sum(softplus(x))`` is diagonal, with ``sigmoid(x) * (1 - sigmoid(x))`` on
# the diagonal.

import pttour

softplus = pttour.SoftplusFunction.apply
x = torch.linspace(-3, 3, 7, device=device)
sig = torch.sigmoid(x)
print(
    "vmap(grad(softplus)) = sigmoid:",
    torch.allclose(vmap(grad(softplus))(x), sig),
)
H = hessian(lambda x: softplus(x).sum())(x)
print(
    "hessian = diag(sigmoid * (1 - sigmoid)):",
    torch.allclose(H, torch.diag(sig * (1 - sig))),
)

# %%
# Per-sample gradients of a model
# -------------------------------
#
# Some methods need each sample's gradient: differentially private training
# clips each one before averaging, and influence estimates compare them. The
# recipe is the one above, applied to a model. ``torch.func.functional_call``
# runs the model with parameters you pass in, which makes it a pure function of
# them; ``grad`` differentiates the loss of one sample, and ``vmap`` maps it
# over the batch.

from torch import nn
from torch.func import functional_call

X = torch.randn(32, 2, device=device)
y = (
    X @ torch.tensor([[3.0], [1.0]], device=device)
    + 4
    + 0.5 * torch.randn(32, 1, device=device)
)
model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
loss_fn = nn.MSELoss()
params = {name: p.detach() for name, p in model.named_parameters()}


def sample_loss(params, sample, target):
    output = functional_call(
        model, params, (sample.unsqueeze(0),)
    )  # a batch of one
    return loss_fn(output, target.unsqueeze(0))


per_sample_fn = vmap(grad(sample_loss), in_dims=(None, 0, 0))
per_sample = per_sample_fn(params, X, y)
model.zero_grad()
loss_fn(model(X), y).backward()
for name, p in model.named_parameters():
    same = torch.allclose(per_sample[name].mean(0), p.grad, atol=1e-6)
    print(
        f"{name:9} {tuple(per_sample[name].shape)!s:12} mean over the batch == .grad: {same}"
    )

# %%
# Each tensor has the batch size in front of the parameter's shape.
# :func:`pttour.per_sample_gradients` is the tested version of this recipe; it
# also refuses models whose samples are not independent (see the pitfalls
# below).

tested = pttour.per_sample_gradients(model, loss_fn, X, y)
print(
    "same as pttour:",
    all(torch.allclose(tested[n], per_sample[n]) for n in per_sample),
)

# %%
# The obvious alternative is a loop that runs one forward and one backward pass
# per sample from Python, while ``vmap`` runs one batched computation. The
# figure times both.

import matplotlib.pyplot as plt

weights = list(model.parameters())


def loop_gradients(inputs, targets):
    return [
        torch.autograd.grad(
            loss_fn(model(inputs[i : i + 1]), targets[i : i + 1]), weights
        )
        for i in range(len(inputs))
    ]


sizes = [8, 16, 32, 64, 128]
vmap_ms, loop_ms = [], []
for size in sizes:
    inputs, targets = (
        torch.randn(size, 2, device=device),
        torch.randn(size, 1, device=device),
    )
    vmap_ms.append(milliseconds(per_sample_fn, params, inputs, targets))
    loop_ms.append(milliseconds(loop_gradients, inputs, targets))

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(sizes, loop_ms, "o-", label="loop: one backward per sample")
ax.plot(sizes, vmap_ms, "s-", label="vmap(grad(...))")
ax.set_xlabel("batch size")
ax.set_ylabel("time per call (ms)")
ax.set_ylim(bottom=0)
ax.set_title(f"Per-sample gradients on {device.type}")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
# The loop's time grows in proportion to the batch size; the batched
# computation's grows much more slowly, because each of its steps processes the
# whole batch at once.
#
# Pitfalls reproduced live
# ------------------------
#
# grad needs an output without dimensions
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# ``backward()`` accepts any output with exactly one element, whatever its
# shape. ``grad`` is stricter: a one-element tensor of shape ``(1,)`` is
# refused. Reduce with ``.sum()`` or remove the dimension with ``.squeeze()``.

try:
    grad(lambda t: (t * 2).sum().reshape(1))(torch.ones(2, device=device))
except RuntimeError as err:
    print(f"RuntimeError: {err}")
print(grad(lambda t: (t * 2).sum())(torch.ones(2, device=device)))

# %%
# Randomness inside vmap
# ~~~~~~~~~~~~~~~~~~~~~~
#
# Should each sample get its own random numbers, or should all share the same?
# Rather than guess, ``vmap`` refuses random operations, such as dropout in
# training mode, by default. Say what you mean: ``randomness="different"``
# gives each sample its own mask, as a loop would, and ``randomness="same"``
# gives all samples one mask.


def noisy(x):
    return nn.functional.dropout(x, p=0.5, training=True)


ones = torch.ones(4, 3, device=device)
try:
    vmap(noisy)(ones)
except RuntimeError as err:
    print(f"RuntimeError: {err}")
print(vmap(noisy, randomness="different")(ones))
print(vmap(noisy, randomness="same")(ones))

# %%
# Batch norm mixes the samples
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# In training mode, batch norm normalises each feature with the mean and
# variance of the *batch*: changing sample 1 changes the output for sample 0,
# so a sample's "own" gradient is not defined, and
# :func:`pttour.per_sample_gradients` refuses such a model. In evaluation mode
# batch norm uses its running statistics and the samples are independent again.
# To train with per-sample gradients, normalise within each sample, with
# ``nn.GroupNorm`` or ``nn.LayerNorm``.

bn_model = nn.Sequential(
    nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)
).to(device)
changed = X.clone()
changed[1] += 1.0
with torch.no_grad():
    for mode in ("train", "eval"):
        getattr(bn_model, mode)()
        before, after = bn_model(X)[0].item(), bn_model(changed)[0].item()
        print(
            f"{mode} mode: output 0 is {before:.4f}, then {after:.4f} after changing sample 1"
        )

# %%
# Takeaways
# ---------
#
# - ``torch.func.grad(f)`` returns the gradient of ``f`` as a function; ``f``
#   must return a tensor without dimensions. It composes, so ``grad(grad(f))``
#   is a second derivative, and it never writes ``.grad``.
# - ``vmap`` turns a function of one sample into a function of a batch;
#   ``in_dims`` marks the batched arguments. ``vmap(grad(loss))`` gives
#   per-sample gradients, which ``backward()`` cannot: it sees only the reduced
#   loss.
# - ``jacrev`` costs one backward pass per output and ``jacfwd`` one
#   forward-mode pass per input: use ``jacrev`` for few outputs, ``jacfwd`` for
#   few inputs, ``hessian`` for second derivatives.
# - Inside ``vmap``, choose the randomness explicitly and keep the samples
#   independent.
#
# Previous: :ref:`sphx_glr_auto_tutorials_plot_16_custom_autograd.py` writes
# the custom function that the transforms above differentiate.
