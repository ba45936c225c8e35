"""
Loading data
============

In this tutorial you will learn to build datasets and reproducible data loaders.
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
# .. _erratum-e24:
#
# Erratum E24: No augmentation in DataLoader
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``DataLoader`` offers options to augment data, such as cropping, flipping and rotating.
#
# .. _erratum-e25:
#
# Erratum E25: One batch, not two
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says the loader splits its two-sample dataset into two batches.
#
# .. _erratum-e26:
#
# Erratum E26: Integer batches for a float model
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example dataset builds its samples from Python integers and the article says the batches go into model training.
#
# .. _erratum-e27:
#
# Erratum E27: Unseeded shuffling
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example shuffles with ``shuffle=True`` and no random generator.
