"""
Saving and loading checkpoints
==============================

In this tutorial you will learn to save a training run safely and resume it exactly.
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
# .. _erratum-e28:
#
# Erratum E28: Whole-model saving
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article names saving the whole model, structure and parameters, as one of two methods but never shows it or its costs.
#
# .. _erratum-e29:
#
# Erratum E29: exists() on a string
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example calls ``.exists()`` on a checkpoint path held in a plain string.
#
# .. _erratum-e30:
#
# Erratum E30: Missing checkpoint folder
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example saves into a ``checkpoints`` folder that it never creates.
#
# .. _erratum-e31:
#
# Erratum E31: Undefined trainloader
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The training loop iterates over a ``trainloader`` that is never defined.
#
# .. _erratum-e32:
#
# Erratum E32: Dictionary keys on tensor batches
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The loop reads each batch as a dictionary with ``image`` and ``label`` keys.
#
# .. _erratum-e33:
#
# Erratum E33: No map_location
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example loads its checkpoint with ``torch.load`` and no ``map_location``.
#
# .. _erratum-e34:
#
# Erratum E34: Checkpoint overwritten in place
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Every epoch the example writes the new checkpoint straight over the old one.
#
# .. _erratum-e35:
#
# Erratum E35: Loading untrusted checkpoints
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article loads checkpoints with a bare ``torch.load`` and never says that a checkpoint file is a pickle.
#
# .. _erratum-e36:
#
# Erratum E36: A state dict is more than parameters
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says the second method saves only the model's parameters.
#
# .. _erratum-e37:
#
# Erratum E37: Resuming is not exact
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# To resume training the example stores only the epoch, the model and the optimizer.
