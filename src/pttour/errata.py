"""The mistakes of the original article, as data, and the errata page built from them.

Each :class:`Erratum` says what the article says or does, what really happens on
today's PyTorch, and the fix, and names the tutorial page that reproduces it live.
``tests/test_errata.py`` proves every reproducible entry on the installed torch, so a
PyTorch release that changes one of these behaviours makes the test of that entry fail.

The module constants:

>>> len(ERRATA) >= 20
True
>>> KINDS
('crash', 'wrong-result', 'false-claim', 'outdated', 'omission', 'safety')
>>> list(SECTIONS)
['§1', '§2', '§3', '§4.1', '§4.2', '§4.3', '§4.4', '§4.5']
>>> SECTIONS["§4.3"]
'Gradient checking'
>>> TUTORIALS["plot_03_tensors"]
'Tensors'
>>> ERRATA[0].id, ERRATA[-1].id == f"E{len(ERRATA):02d}"
('E01', True)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "ERRATA",
    "KINDS",
    "SECTIONS",
    "TUTORIALS",
    "Erratum",
    "errata_for",
    "render_errata_page",
]

#: The kinds of mistake, from the most to the least visible.
KINDS: tuple[str, ...] = ("crash", "wrong-result", "false-claim", "outdated", "omission", "safety")

#: The article's sections in order, each with a short English name.
SECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "§1": "Introduction",
        "§2": "What PyTorch is",
        "§3": "Setting up the environment",
        "§4.1": "Tensors",
        "§4.2": "Autograd",
        "§4.3": "Gradient checking",
        "§4.4": "DataLoader",
        "§4.5": "Saving and loading",
    }
)

#: The tutorial pages, in order, each with a short English name.
TUTORIALS: Mapping[str, str] = MappingProxyType(
    {
        "plot_01_what_is_pytorch": "What PyTorch is",
        "plot_02_environment": "Environment",
        "plot_03_tensors": "Tensors",
        "plot_04_autograd_training": "Autograd and training",
        "plot_05_gradient_checking": "Gradient checking",
        "plot_06_data_loading": "Data loading",
        "plot_07_checkpoints": "Checkpoints",
    }
)

_ID_PATTERN = re.compile(r"E\d{2}")
_REQUIRED_TEXT = ("id", "section", "kind", "title", "description", "observed", "correction")


@dataclass(frozen=True)
class Erratum:
    """One mistake of the article: what it says or does, what happens, and the fix.

    Keeping each mistake as data lets the errata page, the tutorials and the tests
    share one source: the page is rendered from it, the tutorials define a label per
    entry, and the tests check each entry against the installed torch.

    >>> e = Erratum(
    ...     id="E99",
    ...     section="§4.1",
    ...     kind="false-claim",
    ...     title="Example",
    ...     description="The article says something.",
    ...     observed="Something else happens.",
    ...     correction="Do it differently.",
    ...     tutorial="plot_03_tensors",
    ... )
    >>> e.label
    'erratum-e99'
    >>> Erratum(**{**e.__dict__, "kind": "typo"})
    Traceback (most recent call last):
    ...
    ValueError: erratum E99 has unknown kind 'typo'; use one of: crash, wrong-result, ...

    Parameters
    ----------
    id
        Stable identifier ``"E01"``, ``"E02"`` ..., in article order.
    section
        The article section, a key of :data:`SECTIONS` (e.g. ``"§4.3"``).
    kind
        One of :data:`KINDS`.
    title
        A few words naming the mistake.
    description
        One sentence: what the article says or does.
    observed
        What really happens on today's PyTorch, and why; for a crash the exception
        type and the key part of its message.
    correction
        The fix, in one or two sentences.
    tutorial
        The tutorial page reproducing the mistake, a key of :data:`TUTORIALS`.
    untested_reason
        Empty when ``tests/test_errata.py`` checks the entry; otherwise why no
        automatic check is possible (a statement about prose, a shell, or timings).

    Raises
    ------
    ValueError
        If the id is not ``E`` plus two digits, a text field is empty, or the section,
        kind or tutorial is unknown.
    """

    id: str
    section: str
    kind: str
    title: str
    description: str
    observed: str
    correction: str
    tutorial: str
    untested_reason: str = ""

    def __post_init__(self) -> None:
        if not _ID_PATTERN.fullmatch(self.id):
            raise ValueError(f"erratum id {self.id!r} is malformed; use 'E' and two digits, 'E07'")
        for name in _REQUIRED_TEXT:
            if not getattr(self, name).strip():
                raise ValueError(f"erratum {self.id} has an empty {name!r}; write one")
        if self.section not in SECTIONS:
            raise ValueError(
                f"erratum {self.id} has unknown section {self.section!r}; "
                f"use one of: {', '.join(SECTIONS)}"
            )
        if self.kind not in KINDS:
            raise ValueError(
                f"erratum {self.id} has unknown kind {self.kind!r}; use one of: {', '.join(KINDS)}"
            )
        if self.tutorial not in TUTORIALS:
            raise ValueError(
                f"erratum {self.id} has unknown tutorial {self.tutorial!r}; "
                f"use one of: {', '.join(TUTORIALS)}"
            )

    @property
    def label(self) -> str:
        """The reST label that the tutorial defines at the block reproducing this erratum.

        >>> ERRATA[6].label
        'erratum-e07'
        """
        return f"erratum-{self.id.lower()}"


# Figures measured on an NVIDIA H100 80GB HBM3 (16 CPU threads), torch 2.11.0+cu130,
# CUDA 13.0, on 2026-11-26; the CUDA-marked tests recheck the non-timing facts.
_H100 = "an NVIDIA H100 (torch 2.11.0+cu130, measured 2026-11-26)"

#: Every mistake of the article, in article order.
ERRATA: tuple[Erratum, ...] = (
    Erratum(
        id="E01",
        section="§1",
        kind="false-claim",
        title="Advanced APIs promised, basics delivered",
        tutorial="plot_01_what_is_pytorch",
        description=(
            "The introduction promises a tour of PyTorch's advanced APIs for building "
            "complex models."
        ),
        observed=(
            "Every example in the article is a two-input linear layer, a two-sample dataset "
            "or a checkpoint of that layer; nothing beyond the basics (custom autograd "
            "functions, mixed precision, compilation, distributed training) appears."
        ),
        correction=(
            "Read the article, and this tour, as an introduction to PyTorch's everyday "
            "basics: tensors, autograd, a training step, data loading and checkpoints."
        ),
        untested_reason="It is a statement about the article's scope, not about PyTorch.",
    ),
    Erratum(
        id="E02",
        section="§2",
        kind="false-claim",
        title="Gradients of any tensor",
        tutorial="plot_01_what_is_pytorch",
        description="The article says autograd can compute the gradient on any tensor.",
        observed=(
            "Only floating-point (and complex) tensors can require gradients: for an integer "
            "tensor ``requires_grad_()`` raises ``RuntimeError: only Tensors of floating point "
            "dtype can require gradients``. After ``backward()`` only leaf tensors that require "
            "grad get a ``.grad``; an intermediate result's ``.grad`` stays ``None`` and "
            "reading it emits a ``UserWarning``."
        ),
        correction=(
            "Make the tensors you need gradients for floating-point leaves with "
            "``requires_grad=True`` (parameters already are); for an intermediate result call "
            "``.retain_grad()`` before ``backward()`` or use ``torch.autograd.grad``."
        ),
    ),
    Erratum(
        id="E03",
        section="§3",
        kind="outdated",
        title="Python 3.7",
        tutorial="plot_02_environment",
        description="The setup creates a conda environment with Python 3.7.",
        observed=(
            "Python 3.7 reached its end of life in June 2023 and current torch releases do not "
            "support it: the installed torch declares ``Requires-Python: >=3.10``, so pip in a "
            "3.7 environment can only find old releases (the 1.13 series was the last for 3.7)."
        ),
        correction=(
            "Create the environment with a Python that the current torch supports, e.g. "
            "``conda create -n pt python=3.12``."
        ),
    ),
    Erratum(
        id="E04",
        section="§3",
        kind="outdated",
        title="Bare activate",
        tutorial="plot_02_environment",
        description="The article activates the environment with a bare ``activate pt``.",
        observed=(
            "That is the syntax of conda before version 4.4 (December 2017): on Linux and "
            "macOS a bare ``activate`` is either not found or, run without ``source``, changes "
            "nothing in the current shell; ``conda activate`` is the command on every platform."
        ),
        correction="Run ``conda init`` once for your shell, then ``conda activate pt``.",
        untested_reason=(
            "It is a conda shell command; conda is not part of the test environment and the "
            "behaviour is not PyTorch's."
        ),
    ),
    Erratum(
        id="E05",
        section="§3",
        kind="outdated",
        title="Plain pip install torch",
        tutorial="plot_02_environment",
        description=(
            "The article installs PyTorch with a plain ``pip install torch torchvision`` and "
            "stops there."
        ),
        observed=(
            "On Linux a plain ``pip install torch`` from PyPI brings the CUDA build with its "
            "NVIDIA runtime wheels, several gigabytes, even on a machine without a GPU; the "
            "CPU-only build is a separate wheel (version suffix ``+cpu``) on PyTorch's own "
            "index. ``torchvision`` is never used by the article, and no step checks that the "
            "install works or sees the GPU."
        ),
        correction=(
            "Take the command for your platform from the selector on pytorch.org, e.g. "
            "``pip install torch --index-url https://download.pytorch.org/whl/cpu`` on a "
            "CPU-only machine, then check it with "
            '``python -c "import torch; print(torch.__version__, torch.cuda.is_available())"``.'
        ),
    ),
    Erratum(
        id="E06",
        section="§4.1",
        kind="false-claim",
        title="Legacy torch.Tensor constructor",
        tutorial="plot_03_tensors",
        description=(
            "The article presents the class constructor ``torch.Tensor(data)`` as the way to "
            "create a tensor from a list."
        ),
        observed=(
            "``torch.Tensor`` is a legacy constructor: it always gives the default float dtype "
            "(integers become ``float32``), and it reads bare integers as a shape, so "
            "``torch.Tensor(3)`` is an uninitialised tensor of three elements, not the value 3."
        ),
        correction=(
            "Use the factory ``torch.tensor(data)``: it infers the dtype (``int64`` for "
            "integers) and accepts ``dtype=`` and ``device=``; ``torch.as_tensor`` avoids a "
            "copy where possible."
        ),
    ),
    Erratum(
        id="E07",
        section="§4.1",
        kind="crash",
        title="dtype= passed to torch.Tensor",
        tutorial="plot_03_tensors",
        description=(
            "The article passes ``dtype=torch.int32`` to ``torch.Tensor`` to get an integer tensor."
        ),
        observed=(
            "``TypeError: new() received an invalid combination of arguments - got (list, "
            "dtype=torch.dtype)``: the legacy constructor has no ``dtype`` keyword."
        ),
        correction="``torch.tensor([[1, 2]], dtype=torch.int32)``.",
    ),
    Erratum(
        id="E08",
        section="§4.1",
        kind="false-claim",
        title="Shape is not the element count",
        tutorial="plot_03_tensors",
        description="The article defines a tensor's shape as the number of its elements.",
        observed=(
            "``shape`` is a ``torch.Size`` with the length of every dimension, e.g. "
            "``torch.Size([2, 3, 4])``; the number of elements is ``numel()`` (24, the product "
            "of the lengths) and the number of dimensions is ``ndim`` (3)."
        ),
        correction=(
            "Read ``shape`` as the size along each dimension; use ``x.numel()`` for the "
            "element count and ``x.ndim`` for the number of dimensions."
        ),
    ),
    Erratum(
        id="E09",
        section="§4.1",
        kind="false-claim",
        title="GPU is always faster",
        tutorial="plot_03_tensors",
        description="The article says that computing on the GPU is faster.",
        observed=(
            f"It depends on the size of the work. On {_H100}, a 2 x 2 float32 matrix product "
            "took about 25 µs on the GPU against 6 µs on the CPU (74 µs with the copies to and "
            "from the GPU); at 4096 x 4096 the GPU took 2.7 ms against 108 ms on the CPU, or "
            "59 ms with the copies. Each GPU call has a fixed launch cost and data must cross "
            "the PCIe bus."
        ),
        correction=(
            "Use the GPU for large, batched work and keep the data there between operations; "
            "for small tensors the CPU can win, so measure on your own hardware, calling "
            "``torch.cuda.synchronize()`` before reading the clock."
        ),
        untested_reason=(
            "Timings depend on the hardware and vary from run to run, and the tests never "
            "assert on wall-clock time; the figures come from the H100 measurement quoted."
        ),
    ),
    Erratum(
        id="E10",
        section="§4.2",
        kind="false-claim",
        title="What backward() computes",
        tutorial="plot_04_autograd_training",
        description=(
            "The article says ``backward()`` computes the gradient of the model output with "
            "respect to the input data, and later (again in §4.3) the gradient of the loss with "
            "respect to the model output."
        ),
        observed=(
            "``loss.backward()`` computes the gradient of the scalar loss with respect to every "
            "leaf tensor that requires grad, the model's parameters, and adds it into their "
            "``.grad``; the input data gets no gradient (``.grad`` is ``None``) and neither does "
            "the output, which is not a leaf."
        ),
        correction=(
            "Read it as d(loss)/d(parameter), stored in ``param.grad``; for a gradient with "
            "respect to the inputs, create them with ``requires_grad=True`` or call "
            "``torch.autograd.grad(loss, inputs)``."
        ),
    ),
    Erratum(
        id="E11",
        section="§4.2",
        kind="wrong-result",
        title="Target shape broadcast by MSELoss",
        tutorial="plot_04_autograd_training",
        description=(
            "The example computes its targets as ``input_data * 3 + 4``, shape (100, 2), for a "
            "model whose output has shape (100, 1)."
        ),
        observed=(
            "``MSELoss`` broadcasts both to (100, 2) and only warns: ``UserWarning: Using a "
            "target size (torch.Size([100, 2])) that is different to the input size "
            "(torch.Size([100, 1]))``. The loss then compares the one output with both target "
            "columns, a different problem from the one intended."
        ),
        correction=(
            "Give each sample one target with the output's shape, e.g. "
            "``x @ torch.tensor([[3.0], [2.0]]) + 4`` of shape (100, 1), and check "
            "``output.shape == target.shape`` before computing the loss."
        ),
    ),
    Erratum(
        id="E12",
        section="§4.2",
        kind="omission",
        title="Gradients never cleared",
        tutorial="plot_04_autograd_training",
        description=(
            "The example, offered as the pattern for iterative training, never clears the "
            "gradients before ``backward()``."
        ),
        observed=(
            "``backward()`` adds into ``.grad``: a second ``backward()`` without clearing "
            "doubles the stored gradient, so a loop built on this pattern steps with the sum "
            "of all past gradients."
        ),
        correction="Call ``optimizer.zero_grad()`` in every step, before ``loss.backward()``.",
    ),
    Erratum(
        id="E13",
        section="§4.2",
        kind="omission",
        title="No device handling",
        tutorial="plot_04_autograd_training",
        description=(
            "The article advertises GPU acceleration, but its examples create models and data "
            "without choosing a device."
        ),
        observed=(
            "Modules and tensors are created on the CPU unless asked otherwise, so the examples "
            "never use a GPU; moving only the model to the GPU and not the data raises "
            "``RuntimeError: Expected all tensors to be on the same device``."
        ),
        correction=(
            'Pick the device once, ``device = "cuda" if torch.cuda.is_available() else "cpu"``, '
            "then move the model with ``model.to(device)`` and every batch with "
            "``batch.to(device)``."
        ),
    ),
    Erratum(
        id="E14",
        section="§4.3",
        kind="false-claim",
        title="Gradient checks and the global optimum",
        tutorial="plot_05_gradient_checking",
        description=(
            "The article says that gradient checking verifies that the gradient points to the "
            "global optimum."
        ),
        observed=(
            "A gradient check compares autograd's derivative with a finite-difference estimate "
            "at one point and says nothing about optima: the gradient of x squared at x = 3 is "
            "6, pointing away from the minimum, and ``gradcheck`` accepts it."
        ),
        correction=(
            "Gradient checking verifies that the backward computation matches the derivative "
            "of the forward function; the negative gradient only promises a local decrease."
        ),
    ),
    Erratum(
        id="E15",
        section="§4.3",
        kind="false-claim",
        title="What gradcheck returns",
        tutorial="plot_05_gradient_checking",
        description=(
            "The article says ``torch.autograd.gradcheck`` reports the maximum and the mean "
            "difference between numerical and analytical gradients, and then never calls it."
        ),
        observed=(
            "``gradcheck`` returns ``True`` when the Jacobians agree within tolerance; "
            "otherwise it raises ``torch.autograd.gradcheck.GradcheckError: Jacobian mismatch "
            "for output 0 with respect to input 0``, printing both Jacobians, or returns "
            "``False`` with ``raise_exception=False``. It reports no maximum or mean."
        ),
        correction=(
            "Call it on float64 inputs that require grad, e.g. ``gradcheck(fn, "
            "(torch.rand(3, dtype=torch.float64, requires_grad=True),))``, and compute "
            "difference statistics yourself if you want them."
        ),
    ),
    Erratum(
        id="E16",
        section="§4.3",
        kind="false-claim",
        title="Parameters before and after backward",
        tutorial="plot_05_gradient_checking",
        description=(
            "The example prints the parameters before and after ``loss.backward()`` as if the "
            "backward pass changed them."
        ),
        observed=(
            "``backward()`` only fills ``.grad``, so both printouts are identical; parameters "
            "change when ``optimizer.step()`` runs, and the example creates an optimizer but "
            "never steps it."
        ),
        correction=(
            "Print ``param.grad`` after ``backward()``, and compare parameters before and "
            "after ``optimizer.step()``."
        ),
    ),
    Erratum(
        id="E17",
        section="§4.3",
        kind="wrong-result",
        title="isinstance check against torch.DoubleTensor",
        tutorial="plot_05_gradient_checking",
        description=(
            "The example checks that each gradient is double precision with "
            "``isinstance(param.grad, torch.DoubleTensor)``."
        ),
        observed=(
            "The legacy type ``torch.DoubleTensor`` stands for float64 on the CPU only. On "
            f"{_H100}, a float64 gradient on the GPU gives ``False``, its ``.type()`` being "
            "``torch.cuda.DoubleTensor``; the check only passes on the CPU."
        ),
        correction="Check the dtype, which does not depend on the device: "
        "``param.grad.dtype == torch.float64``.",
    ),
    Erratum(
        id="E18",
        section="§4.3",
        kind="crash",
        title="A guard that does not guard",
        tutorial="plot_05_gradient_checking",
        description=(
            "The example tests ``param.grad is not None`` only around its type assertion, then "
            "calls ``param.grad.detach()`` unconditionally."
        ),
        observed=(
            "For a parameter without a gradient (frozen with ``requires_grad=False``, or unused "
            "in the forward pass) this raises ``AttributeError: 'NoneType' object has no "
            "attribute 'detach'``."
        ),
        correction="Skip such parameters first: ``if param.grad is None: continue``.",
    ),
    Erratum(
        id="E19",
        section="§4.3",
        kind="false-claim",
        title="A random array and a NumPy derivative",
        tutorial="plot_05_gradient_checking",
        description=(
            "The article says NumPy computes the numerical derivative, while the only NumPy "
            "gradient in the code is an array of random normal numbers."
        ),
        observed=(
            "``grads_num`` is noise and is never used; the finite differences come from "
            "evaluating the torch loss and calling ``.item()``, and NumPy only takes the "
            "absolute difference and its maximum."
        ),
        correction=(
            "Delete the random array; compute the numerical gradient with torch in float64, "
            "by central differences of the loss per parameter element, and compare it with "
            "``torch.testing.assert_close``."
        ),
    ),
    Erratum(
        id="E20",
        section="§4.3",
        kind="wrong-result",
        title="Perturbing the inputs instead of the parameters",
        tutorial="plot_05_gradient_checking",
        description=(
            "For its numerical gradient the example shifts all inputs by ``epsilon * i`` for "
            "each sample index ``i`` and takes a central difference of the loss."
        ),
        observed=(
            "That is the derivative of the loss with respect to the input data, along the "
            "all-ones direction and multiplied by ``i``: the first value is always 0 and the "
            "others grow linearly with the index. None of them is a derivative with respect "
            "to a weight or the bias."
        ),
        correction=(
            "Perturb one parameter element at a time by plus and minus ``eps`` (under "
            "``torch.no_grad()``, restoring it afterwards) and divide the loss difference by "
            "``2 * eps``: that gives one number per element of the parameter."
        ),
    ),
    Erratum(
        id="E21",
        section="§4.3",
        kind="crash",
        title="Comparing arrays of different shapes",
        tutorial="plot_05_gradient_checking",
        description=(
            "The example subtracts its list of 100 per-sample numbers from each parameter's "
            "gradient array."
        ),
        observed=(
            "For the weight, shape (1, 2), NumPy raises ``ValueError: operands could not be "
            "broadcast together with shapes (1,2) (100,)``; for the bias, shape (1,), it "
            "silently broadcasts to 100 differences between unrelated numbers."
        ),
        correction=(
            "Produce exactly one numerical value per parameter element and compare with "
            "``torch.testing.assert_close(numerical, param.grad)``, which also checks shapes."
        ),
    ),
    Erratum(
        id="E22",
        section="§4.3",
        kind="false-claim",
        title="What epsilon is for",
        tutorial="plot_05_gradient_checking",
        description="The article says epsilon is made small to avoid a division by zero.",
        observed=(
            "Epsilon is the finite-difference step: the truncation error grows with it and "
            "the round-off error grows as it shrinks. For sin at 1 in float64 the central "
            "difference is off by about 1e-11 with a step of 1e-5, 2e-10 with 1e-7 and 1e-6 "
            "with 1e-11; in float32 a step of 1e-7 gives 2.38 for the derivative of x squared "
            "at 1, instead of 2."
        ),
        correction=(
            "Work in float64 with a step near 1e-6 (``gradcheck``'s default) and compare with "
            "both a relative and an absolute tolerance."
        ),
    ),
    Erratum(
        id="E23",
        section="§4.3",
        kind="wrong-result",
        title="param.name is None",
        tutorial="plot_05_gradient_checking",
        description="The example reports each checked parameter by its ``param.name``.",
        observed=(
            "Parameters do not know the attribute name they are stored under: ``param.name`` "
            'is ``None`` on the installed torch, so every message reads "None passed the '
            'gradient check".'
        ),
        correction=(
            "Iterate over ``model.named_parameters()`` and print the names it yields, such as "
            "``fc1.weight`` and ``fc1.bias``."
        ),
    ),
    Erratum(
        id="E24",
        section="§4.4",
        kind="false-claim",
        title="No augmentation in DataLoader",
        tutorial="plot_06_data_loading",
        description=(
            "The article says ``DataLoader`` offers options to augment data, such as cropping, "
            "flipping and rotating."
        ),
        observed=(
            "``DataLoader`` has no such options: its parameters are about batching, order, "
            "worker processes and memory (``batch_size``, ``shuffle``, ``sampler``, "
            "``num_workers``, ``collate_fn``, ``pin_memory`` ...). Augmentation happens where "
            "a sample is produced, in the dataset's ``__getitem__``."
        ),
        correction=(
            "Apply transforms inside the ``Dataset`` or a dataset that wraps it (e.g. with "
            "torchvision's transforms) and let ``DataLoader`` batch the results."
        ),
    ),
    Erratum(
        id="E25",
        section="§4.4",
        kind="false-claim",
        title="One batch, not two",
        tutorial="plot_06_data_loading",
        description="The article says the loader splits its two-sample dataset into two batches.",
        observed=(
            "With ``batch_size=2`` two samples make a single batch: ``len(loader)`` is 1 and "
            "the loop prints one tensor of shape (2, 2)."
        ),
        correction=(
            "``batch_size=1`` gives two batches; in general a loader has ``ceil(len(dataset) / "
            "batch_size)`` batches, or the floor with ``drop_last=True``."
        ),
    ),
    Erratum(
        id="E26",
        section="§4.4",
        kind="crash",
        title="Integer batches for a float model",
        tutorial="plot_06_data_loading",
        description=(
            "The example dataset builds its samples from Python integers and the article says "
            "the batches go into model training."
        ),
        observed=(
            "The samples are ``int64``; passing such a batch to ``nn.Linear`` raises "
            "``RuntimeError: mat1 and mat2 must have the same dtype, but got Long and Float``."
        ),
        correction=(
            "Create float samples, ``torch.tensor(row, dtype=torch.float32)``, or convert with "
            "``batch.float()``."
        ),
    ),
    Erratum(
        id="E27",
        section="§4.4",
        kind="omission",
        title="Unseeded shuffling",
        tutorial="plot_06_data_loading",
        description="The example shuffles with ``shuffle=True`` and no random generator.",
        observed=(
            "The order then comes from torch's global random state: it changes from run to run "
            "and with every other random draw made before the loop."
        ),
        correction=(
            "Pass ``generator=torch.Generator().manual_seed(seed)`` to the ``DataLoader`` and, "
            "with ``num_workers > 0``, seed the workers with ``worker_init_fn``."
        ),
    ),
    Erratum(
        id="E28",
        section="§4.5",
        kind="omission",
        title="Whole-model saving",
        tutorial="plot_07_checkpoints",
        description=(
            "The article names saving the whole model, structure and parameters, as one of two "
            "methods but never shows it or its costs."
        ),
        observed=(
            "``torch.save(model)`` pickles the module object, so loading needs the same class "
            "importable under the same module path; and the installed torch refuses it by "
            "default: ``torch.load`` raises ``UnpicklingError: Weights only load failed`` with "
            "``Unsupported global`` naming the module's class."
        ),
        correction=(
            "Save ``model.state_dict()`` and rebuild the model in code before "
            "``load_state_dict``; to ship the structure as well, export the model with "
            "``torch.export`` instead of pickling it."
        ),
    ),
    Erratum(
        id="E29",
        section="§4.5",
        kind="crash",
        title="exists() on a string",
        tutorial="plot_07_checkpoints",
        description="The example calls ``.exists()`` on a checkpoint path held in a plain string.",
        observed="``AttributeError: 'str' object has no attribute 'exists'``.",
        correction=(
            'Make the path a ``pathlib.Path("checkpoints/checkpoint.pth")``; then '
            "``checkpoint_path.exists()`` works."
        ),
    ),
    Erratum(
        id="E30",
        section="§4.5",
        kind="crash",
        title="Missing checkpoint folder",
        tutorial="plot_07_checkpoints",
        description="The example saves into a ``checkpoints`` folder that it never creates.",
        observed=(
            "``torch.save`` raises ``RuntimeError: Parent directory ./checkpoints does not "
            "exist.``: once the earlier crashes are fixed, this happens at the end of the first "
            "epoch, after its training work is done."
        ),
        correction=(
            "Create the folder before training: "
            "``checkpoint_path.parent.mkdir(parents=True, exist_ok=True)``."
        ),
    ),
    Erratum(
        id="E31",
        section="§4.5",
        kind="omission",
        title="Undefined trainloader",
        tutorial="plot_07_checkpoints",
        description="The training loop iterates over a ``trainloader`` that is never defined.",
        observed=(
            "Once the earlier crashes are fixed, the loop stops with ``NameError: name "
            "'trainloader' is not defined``."
        ),
        correction=(
            "Build the loader in the example, e.g. ``DataLoader(TensorDataset(x, y), "
            "batch_size=16, shuffle=True, generator=g)``."
        ),
    ),
    Erratum(
        id="E32",
        section="§4.5",
        kind="crash",
        title="Dictionary keys on tensor batches",
        tutorial="plot_07_checkpoints",
        description="The loop reads each batch as a dictionary with ``image`` and ``label`` keys.",
        observed=(
            "A loader over a dataset like the one in §4.4 yields plain tensors, and indexing a "
            "tensor with a string raises ``IndexError: too many indices for tensor of "
            "dimension 2`` (torch reads the string as a sequence of indices)."
        ),
        correction=(
            "Unpack what the dataset returns, ``for inputs, labels in loader`` for a dataset of "
            "pairs, or make ``__getitem__`` return a dict, which the default collate turns into "
            "a dict of batched tensors."
        ),
    ),
    Erratum(
        id="E33",
        section="§4.5",
        kind="omission",
        title="No map_location",
        tutorial="plot_07_checkpoints",
        description="The example loads its checkpoint with ``torch.load`` and no ``map_location``.",
        observed=(
            "A checkpoint records the device of each tensor; in a process without CUDA, "
            "loading one saved from GPU tensors raises ``RuntimeError: Attempting to "
            "deserialize object on a CUDA device but torch.cuda.is_available() is False``. "
            f"Seen on {_H100} in a CPU-only process, and on the installed torch with storages "
            "tagged ``cuda:0``; with ``map_location='cpu'`` the file loads."
        ),
        correction=(
            "Load with ``torch.load(path, map_location=device, weights_only=True)``, where "
            "``device`` is the one this process uses."
        ),
    ),
    Erratum(
        id="E34",
        section="§4.5",
        kind="omission",
        title="Checkpoint overwritten in place",
        tutorial="plot_07_checkpoints",
        description="Every epoch the example writes the new checkpoint straight over the old one.",
        observed=(
            "If the write fails or the process dies midway, the file is left truncated and the "
            "last good checkpoint is gone: ``torch.load`` then fails with ``RuntimeError: "
            "PytorchStreamReader failed ...``."
        ),
        correction=(
            "Write to a temporary file in the same folder, flush it and ``os.fsync`` it, then "
            "``os.replace`` it onto the checkpoint path, which swaps the files in one step."
        ),
    ),
    Erratum(
        id="E35",
        section="§4.5",
        kind="safety",
        title="Loading untrusted checkpoints",
        tutorial="plot_07_checkpoints",
        description=(
            "The article loads checkpoints with a bare ``torch.load`` and never says that a "
            "checkpoint file is a pickle."
        ),
        observed=(
            "With ``weights_only=False``, the default before torch 2.6 and the first workaround "
            "that today's error message offers, loading calls whatever functions the file "
            "names, so a crafted file runs arbitrary code; since torch 2.6 the default "
            "``weights_only=True`` refuses them with ``UnpicklingError: Weights only load "
            "failed`` and ``Unsupported global``."
        ),
        correction=(
            "Save only state dicts (tensors, numbers, strings, containers), load them with "
            "``weights_only=True`` spelled out, and never pass ``weights_only=False`` for a "
            "file you did not create."
        ),
    ),
    Erratum(
        id="E36",
        section="§4.5",
        kind="false-claim",
        title="A state dict is more than parameters",
        tutorial="plot_07_checkpoints",
        description="The article says the second method saves only the model's parameters.",
        observed=(
            "``state_dict()`` also holds the persistent buffers: ``BatchNorm1d`` saves "
            "``running_mean``, ``running_var`` and ``num_batches_tracked`` next to ``weight`` "
            "and ``bias``, and without them the model predicts differently in evaluation mode."
        ),
        correction=(
            "Read the state dict as the model's whole state, parameters and buffers, and save "
            "and load it as one."
        ),
    ),
    Erratum(
        id="E37",
        section="§4.5",
        kind="omission",
        title="Resuming is not exact",
        tutorial="plot_07_checkpoints",
        description=(
            "To resume training the example stores only the epoch, the model and the optimizer."
        ),
        observed=(
            "The random state (shuffling order, dropout, augmentation) is not saved, and a new "
            "process starts from a new seed, so a resumed run draws different numbers from "
            "those the uninterrupted run would have drawn."
        ),
        correction=(
            "Store the random states in the checkpoint, ``torch.get_rng_state()``, the "
            "loader's generator state and any CUDA, NumPy or Python states in use, and restore "
            "them when resuming."
        ),
    ),
)


def errata_for(tutorial: str) -> tuple[Erratum, ...]:
    """The errata that one tutorial page reproduces, in article order.

    Each tutorial defines a label per erratum it reproduces; this is the list it must
    cover, and what a page check compares against.

    >>> [e.id for e in errata_for("plot_03_tensors")]
    ['E06', 'E07', 'E08', 'E09']
    >>> errata_for("plot_99")
    Traceback (most recent call last):
    ...
    ValueError: unknown tutorial 'plot_99'; use one of: plot_01_what_is_pytorch, ...

    Parameters
    ----------
    tutorial
        A key of :data:`TUTORIALS`, e.g. ``"plot_05_gradient_checking"``.

    Raises
    ------
    ValueError
        If ``tutorial`` is not a known tutorial name.
    """
    if tutorial not in TUTORIALS:
        raise ValueError(f"unknown tutorial {tutorial!r}; use one of: {', '.join(TUTORIALS)}")
    return tuple(e for e in ERRATA if e.tutorial == tutorial)


_PAGE_TITLE = "Errata of the original article"

_INTRO = (
    "This tour started from a Chinese article on PyTorch's basics. This page lists the "
    "article's mistakes, section by section: for each one, what the article says or does, "
    "what really happens with the installed PyTorch and why, and the fix, with a link to the "
    "tutorial block that reproduces it live."
)

_INTRO_TESTS = (
    "Every entry is checked by ``tests/test_errata.py`` on the installed torch: if a PyTorch "
    "release changes one of these behaviours, the failing test names the entry that is out of "
    "date. The few entries that no test can check say why."
)


def _heading(text: str, underline: str) -> list[str]:
    # One underline character per character of the title, as docutils requires.
    return [text, underline * len(text), ""]


def _render_erratum(erratum: Erratum, *, link_to_tutorials: bool) -> list[str]:
    tutorial_name = TUTORIALS[erratum.tutorial]
    if link_to_tutorials:
        where = f":ref:`{tutorial_name}, erratum {erratum.id} <{erratum.label}>`"
    else:
        where = f"{tutorial_name} (``{erratum.tutorial}``), erratum {erratum.id}"
    lines = [
        f".. rubric:: {erratum.id}: {erratum.title}",
        "",
        f"**Kind:** {erratum.kind}",
        "",
        f"**What the article says or does:** {erratum.description}",
        "",
        f"**What happens:** {erratum.observed}",
        "",
        f"**Fix:** {erratum.correction}",
        "",
        f"**Reproduced in:** {where}",
        "",
    ]
    if erratum.untested_reason:
        lines += [f"**Not checked by a test:** {erratum.untested_reason}", ""]
    return lines


def render_errata_page(
    errata: tuple[Erratum, ...] = ERRATA, *, link_to_tutorials: bool = True
) -> str:
    """Render the errata as a complete reStructuredText page, one subsection per section.

    The page is generated rather than written by hand so that it cannot drift from the
    entries the tests check. Each field is its own paragraph, so a gettext catalog gets
    one short message per field.

    >>> page = render_errata_page()
    >>> print(page.splitlines()[0])
    Errata of the original article
    >>> ":ref:`Tensors, erratum E07 <erratum-e07>`" in page
    True
    >>> plain = render_errata_page(ERRATA[:1], link_to_tutorials=False)
    >>> print(plain.split("§1 Introduction")[1].strip().splitlines()[2])
    .. rubric:: E01: Advanced APIs promised, basics delivered

    Parameters
    ----------
    errata
        The entries to render, in order; by default all of :data:`ERRATA`.
    link_to_tutorials
        With ``True``, "Reproduced in" is a Sphinx ``:ref:`` to the erratum's label in
        its tutorial; with ``False`` it is plain text, and the page is plain docutils
        reStructuredText (no Sphinx roles).

    Raises
    ------
    ValueError
        If ``errata`` is empty or holds the same id twice.
    """
    ids = [e.id for e in errata]
    if not ids:
        raise ValueError("no errata to render; pass at least one Erratum (default: ERRATA)")
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"errata ids {duplicates} appear more than once; ids must be unique")

    lines = [*_heading(_PAGE_TITLE, "="), _INTRO, "", _INTRO_TESTS, ""]
    for section, name in SECTIONS.items():
        in_section = [e for e in errata if e.section == section]
        if not in_section:
            continue
        lines += _heading(f"{section} {name}", "-")
        for erratum in in_section:
            lines += _render_erratum(erratum, link_to_tutorials=link_to_tutorials)
    return "\n".join(lines).rstrip("\n") + "\n"
