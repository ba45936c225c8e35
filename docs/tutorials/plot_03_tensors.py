"""
Tensors
=======

In this tutorial you will learn to create tensors and read their shape, data type and device.
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
# The library packages the lesson: :func:`pttour.describe` reports what matters about a tensor.

import pttour

print(pttour.describe(torch.zeros(2, 3)))

# %%
# Errata of this section
# ----------------------
#
# The article's mistakes in this section, each reproduced and fixed below.
#
# .. _erratum-e06:
#
# Erratum E06: Legacy torch.Tensor constructor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article presents the class constructor ``torch.Tensor(data)`` as the way to create a tensor from a list.
#
# .. _erratum-e07:
#
# Erratum E07: dtype= passed to torch.Tensor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article passes ``dtype=torch.int32`` to ``torch.Tensor`` to get an integer tensor.
#
# .. _erratum-e08:
#
# Erratum E08: Shape is not the element count
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article defines a tensor's shape as the number of its elements.
#
# .. _erratum-e09:
#
# Erratum E09: GPU is always faster
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says that computing on the GPU is faster.
