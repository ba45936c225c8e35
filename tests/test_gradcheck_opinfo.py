"""pttour's gradient check against ``torch.autograd.gradcheck`` on PyTorch's own OpInfo database.

Code that no one here wrote: the differentiable ops of
``torch.testing._internal.common_methods_invocations.op_db``, on float64 samples on the CPU, are
checked by both at pttour's tolerances (``eps=1e-6, atol=1e-6, rtol=1e-4``, the Jacobian only:
``check_undefined_grad=False, check_batched_grad=False, fast_mode=False``).

* As they are, pttour must pass every sample that torch passes and fail every one it fails.
* With a mutated backward (one element of one input's gradient scaled by 2, its sign flipped,
  off by 0.1 %, or zeroed), pttour must fail wherever torch fails, and its report must name the
  mutated input and element.

Each disagreement is named: op, sample, mutation, and what each checker said.

Sampled deterministically: the samples of each op are drawn after ``torch.manual_seed(0)``, and
of the first ``SCAN`` of them the first ``PER_OP`` whose differentiable inputs and outputs hold at
most ``ELEMENTS`` elements together are checked (the slow, exact Jacobian costs a few evaluations
per element). The mutated element is the middle one of the first non-empty differentiable input.

``op_db`` lives in torch's private ``torch.testing._internal`` and changes between releases, so
this runs on the torch that ``noxfile.py`` pins only, and needs ``expecttest`` (the test group).
Importing it also locks ``torch.backends`` flags for the rest of the process
(``torch.backends.disable_global_flags``). Select ops with ``-k``, e.g. ``-k "sin or cumsum"``.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import warnings
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement
from packaging.version import Version
from torch.utils._pytree import tree_flatten, tree_unflatten

from pttour import check_function_gradients

# One test per op, each seeding its own samples: pytest-xdist spreads them over its workers, in
# any order. "slow" as a whole: deselect it with -m "not slow".
pytestmark = pytest.mark.slow
TOLERANCES = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-4}
SCAN, PER_OP, ELEMENTS = 8, 2, 20
MUTATIONS = {"scale": 2.0, "sign": -1.0, "slight": 1.001, "zero": 0.0}


def _pinned_torch() -> Requirement:
    """The torch that noxfile.py pins (its TORCH constant, read, not imported)."""
    tree = ast.parse(Path(__file__).resolve().parents[1].joinpath("noxfile.py").read_text())
    (value,) = (
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", "") for t in node.targets] == ["TORCH"]
    )
    return Requirement(ast.literal_eval(value))


PINNED = _pinned_torch()
if Version(torch.__version__).public not in PINNED.specifier:
    pytest.skip(
        f"op_db is torch's private test data and changes between releases; this test runs on "
        f"the pinned {PINNED} only, not on torch {torch.__version__}",
        allow_module_level=True,
    )
if importlib.util.find_spec("expecttest") is None:
    pytest.skip("op_db needs expecttest (the test dependency group)", allow_module_level=True)

with warnings.catch_warnings():  # torch's test modules warn about their own internals
    warnings.simplefilter("ignore")
    from torch.testing._internal.common_methods_invocations import op_db

OPS = {
    f"{op.name}.{op.variant_test_name}".rstrip("."): op
    for op in op_db
    if op.supports_autograd and torch.float64 in op.supported_backward_dtypes("cpu")
}


def _numel(value: object) -> int:
    return sum(leaf.numel() for leaf in tree_flatten(value)[0] if isinstance(leaf, torch.Tensor))


def _cases(op) -> list:
    """(function of the differentiable inputs, those inputs) for each sample checked."""
    torch.manual_seed(0)
    cases = []
    for sample in itertools.islice(
        op.sample_inputs("cpu", torch.float64, requires_grad=True), SCAN
    ):
        leaves, spec = tree_flatten((sample.input, sample.args, sample.kwargs))
        positions = [
            i for i, x in enumerate(leaves) if isinstance(x, torch.Tensor) and x.requires_grad
        ]

        def fn(*tensors, leaves=leaves, spec=spec, positions=positions, sample=sample):
            values = list(leaves)
            for position, tensor in zip(positions, tensors, strict=True):
                values[position] = tensor
            first, args, kwargs = tree_unflatten(values, spec)
            output = op.gradcheck_wrapper(op.get_op(), first, *args, **kwargs)
            process = sample.output_process_fn_grad
            return output if process is None else process(output)

        inputs = [leaves[i] for i in positions]
        if inputs and sum(x.numel() for x in inputs) + _numel(fn(*inputs)) <= ELEMENTS:
            cases.append((fn, inputs))
        if len(cases) == PER_OP:
            break
    return cases


def _mutated(fn, position: int, index: int, factor: float):
    """``fn`` whose backward multiplies element ``index`` of input ``position``'s gradient."""

    def hook(grad: torch.Tensor | None) -> torch.Tensor | None:
        if grad is None:  # an undefined gradient (zero), as some backwards give for zero input
            return None
        grad = grad.clone(memory_format=torch.contiguous_format)
        grad.view(-1)[index] *= factor
        return grad

    def mutated(*tensors):
        tensors = list(tensors)
        tensors[position] = tensors[position].clone()
        tensors[position].register_hook(hook)
        return fn(*tensors)

    return mutated


def _torch(fn, inputs) -> str:
    """torch's verdict: "" when it passes, else why not."""
    try:
        torch.autograd.gradcheck(fn, tuple(inputs), **TOLERANCES, check_undefined_grad=False,
                                 check_batched_grad=False, fast_mode=False)  # fmt: skip
    except Exception as error:  # noqa: BLE001 - any failure is a verdict here
        return f"{type(error).__name__}: {str(error).strip()[:200]}"
    return ""


def _pttour(fn, inputs):
    """pttour's report, or the error it raised instead."""
    try:
        return check_function_gradients(fn, *inputs, **TOLERANCES)
    except Exception as error:  # noqa: BLE001 - any failure is a verdict here
        return error


def check(op) -> tuple[list[str], dict[str, int]]:
    """The disagreements between pttour and torch on ``op``'s samples, and what was counted."""
    disagreements, counts = [], dict.fromkeys(["samples", "torch passed", *MUTATIONS], 0)
    counts |= {f"{kind} caught by torch": 0 for kind in MUTATIONS}
    with warnings.catch_warnings():  # deprecated ops (torch.qr ...) warn; the verdicts stand
        warnings.simplefilter("ignore")
        for number, (fn, inputs) in enumerate(_cases(op)):
            counts["samples"] += 1
            torch_says, report = _torch(fn, inputs), _pttour(fn, inputs)
            pttour_passed = getattr(report, "passed", False)
            if pttour_passed != (not torch_says):
                disagreements.append(
                    f"sample {number}: torch {torch_says or 'passed'}; pttour {report}"
                )
            if torch_says:
                continue
            counts["torch passed"] += 1
            position = next((i for i, x in enumerate(inputs) if x.numel()), None)
            if position is None:  # no element to mutate
                continue
            index = inputs[position].numel() // 2
            element = tuple(
                int(i) for i in torch.unravel_index(torch.tensor(index), inputs[position].shape)
            )
            for kind, factor in MUTATIONS.items():
                mutated = _mutated(fn, position, index, factor)
                torch_says, report = _torch(mutated, inputs), _pttour(mutated, inputs)
                counts[f"{kind} caught by torch"] += bool(torch_says)
                caught = not getattr(report, "passed", False)
                counts[kind] += caught
                named = not isinstance(report, Exception) and (
                    report.failures == [f"input {position}"]
                    and report.comparisons[position].index == element
                )
                if caught != bool(torch_says) or (caught and not named):
                    disagreements.append(
                        f"sample {number}, {kind} at input {position}{list(element)}: torch "
                        f"{torch_says or 'passed'}; pttour {report}"
                    )
    return disagreements, counts


@pytest.mark.parametrize("name", list(OPS))
def test_pttour_agrees_with_torch_gradcheck(name):
    disagreements, _ = check(OPS[name])
    assert not disagreements, "\n".join(disagreements)
