"""
What PyTorch is
===============

In this tutorial you will learn to what PyTorch is made of: tensors, automatic differentiation and modules.
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
# .. _erratum-e01:
#
# Erratum E01: Advanced APIs promised, basics delivered
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The introduction promises a tour of PyTorch's advanced APIs for building complex models.
#
# .. _erratum-e02:
#
# Erratum E02: Gradients of any tensor
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says autograd can compute the gradient on any tensor.
