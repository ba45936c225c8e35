"""pttour: PyTorch's everyday APIs, done right, one section of the tour per module.

Every module's public names are re-exported, so ``import pttour`` is all a tutorial needs:

>>> import pttour
>>> pttour.pick_device().type in {"cpu", "cuda", "mps", "xpu"}
True
"""

from pttour import (
    autograd_functions,
    checkpoint,
    data,
    devices,
    distributed,
    environment,
    errors,
    functional,
    gradcheck,
    precision,
    tensors,
    training,
)
from pttour.autograd_functions import *
from pttour.checkpoint import *
from pttour.data import *
from pttour.devices import *
from pttour.distributed import *
from pttour.environment import *
from pttour.errors import *
from pttour.functional import *
from pttour.gradcheck import *
from pttour.precision import *
from pttour.tensors import *
from pttour.training import *

__version__ = "0.1.0"  # the only place the version is written; packaging reads it here

_MODULES = (autograd_functions, checkpoint, data, devices, distributed, environment, errors)
_MODULES += (functional, gradcheck, precision, tensors, training)
__all__ = [name for module in _MODULES for name in module.__all__]
