"""
Setting up the environment
==========================

In this tutorial you will learn to check which Python and PyTorch you have, and whether they fit the tour.
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
# :func:`pttour.collect_environment` gathers the facts in one report.

import pttour

report = pttour.collect_environment()
print("supported:", report.supported)

# %%
# Errata of this section
# ----------------------
#
# The article's mistakes in this section, each reproduced and fixed below.
#
# .. _erratum-e03:
#
# Erratum E03: Python 3.7
# ~~~~~~~~~~~~~~~~~~~~~~~
#
# The setup creates a conda environment with Python 3.7.
#
# .. _erratum-e04:
#
# Erratum E04: Bare activate
# ~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article activates the environment with a bare ``activate pt``.
#
# .. _erratum-e05:
#
# Erratum E05: Plain pip install torch
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article installs PyTorch with a plain ``pip install torch torchvision`` and stops there.
