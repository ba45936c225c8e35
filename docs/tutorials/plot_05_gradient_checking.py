"""
Gradient checking
=================

In this tutorial you will learn to compare autograd's gradients with numerical ones.
"""

# %%
# The first step
# --------------
#
# A first look, printed when the site was built.

import torch

x = torch.zeros(2, 3)
print(f"shape {tuple(x.shape)}, dtype {x.dtype}, device {x.device}")

# %%
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
# The article says that gradient checking verifies that the gradient points to the global optimum.
#
# .. _erratum-e15:
#
# Erratum E15: What gradcheck returns
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``torch.autograd.gradcheck`` reports the maximum and the mean difference between numerical and analytical gradients, and then never calls it.
#
# .. _erratum-e16:
#
# Erratum E16: Parameters before and after backward
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example prints the parameters before and after ``loss.backward()`` as if the backward pass changed them.
#
# .. _erratum-e17:
#
# Erratum E17: isinstance check against torch.DoubleTensor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example checks that each gradient is double precision with ``isinstance(param.grad, torch.DoubleTensor)``.
#
# .. _erratum-e18:
#
# Erratum E18: A guard that does not guard
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example tests ``param.grad is not None`` only around its type assertion, then calls ``param.grad.detach()`` unconditionally.
#
# .. _erratum-e19:
#
# Erratum E19: A random array and a NumPy derivative
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says NumPy computes the numerical derivative, while the only NumPy gradient in the code is an array of random normal numbers.
#
# .. _erratum-e20:
#
# Erratum E20: Perturbing the inputs instead of the parameters
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# For its numerical gradient the example shifts all inputs by ``epsilon * i`` for each sample index ``i`` and takes a central difference of the loss.
#
# .. _erratum-e21:
#
# Erratum E21: Comparing arrays of different shapes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example subtracts its list of 100 per-sample numbers from each parameter's gradient array.
#
# .. _erratum-e22:
#
# Erratum E22: What epsilon is for
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says epsilon is made small to avoid a division by zero.
#
# .. _erratum-e23:
#
# Erratum E23: param.name is None
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example reports each checked parameter by its ``param.name``.
