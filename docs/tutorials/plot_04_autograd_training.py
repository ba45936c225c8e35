"""
Autograd and a training step
============================

In this tutorial you will learn to write one correct optimisation step and a small training loop.
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
# A picture
# ---------
#
# A small figure, drawn by matplotlib and captured by the gallery.

import matplotlib.pyplot as plt

steps = torch.arange(20)
fig, ax = plt.subplots()
ax.plot(steps, 1.0 / (1.0 + steps), marker="o")
ax.set_xlabel("step")
ax.set_ylabel("loss")
ax.set_title("A decreasing curve")
plt.show()

# %%
# Errata of this section
# ----------------------
#
# The article's mistakes in this section, each reproduced and fixed below.
#
# .. _erratum-e10:
#
# Erratum E10: What backward() computes
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article says ``backward()`` computes the gradient of the model output with respect to the input data, and later the gradient of the loss with respect to the model output.
#
# .. _erratum-e11:
#
# Erratum E11: Target shape broadcast by MSELoss
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example computes its targets as ``input_data * 3 + 4``, shape (100, 2), for a model whose output has shape (100, 1).
#
# .. _erratum-e12:
#
# Erratum E12: Gradients never cleared
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The example, offered as the pattern for iterative training, never clears the gradients before ``backward()``.
#
# .. _erratum-e13:
#
# Erratum E13: No device handling
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article advertises GPU acceleration, but its examples create models and data without choosing a device.
