"""pttour: PyTorch's everyday APIs, done right, one section of the tour per module.

The public names of every module are re-exported here, so ``import pttour`` is all
a tutorial needs:

>>> import pttour
>>> pttour.pick_device().type in {"cpu", "cuda", "mps"}
True
"""

from pttour import (
    autograd_functions,
    checkpoint,
    data,
    devices,
    distributed,
    environment,
    errata,
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
from pttour.errata import *
from pttour.errors import *
from pttour.functional import *
from pttour.gradcheck import *
from pttour.precision import *
from pttour.tensors import *
from pttour.training import *

__version__ = "0.1.0"  # the only place the version is written; packaging reads it here

__all__ = [
    *autograd_functions.__all__,
    *checkpoint.__all__,
    *data.__all__,
    *devices.__all__,
    *distributed.__all__,
    *environment.__all__,
    *errata.__all__,
    *errors.__all__,
    *functional.__all__,
    *gradcheck.__all__,
    *precision.__all__,
    *tensors.__all__,
    *training.__all__,
]
