"""What the advanced tutorials (pages 16 to 20) say about torch itself, checked on this torch.

The pages show most of their claims live; these tests keep the ones whose truth depends on the
torch version, so that ``nox -s compat`` finds out on the oldest and the newest torch too, and the
one a page states without running it (DDP's broadcast, in the recipe that torchrun would start).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.autograd.function import once_differentiable

from pttour.distributed import launch


class _Softplus(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return torch.nn.functional.softplus(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


class _OnceSoftplus(_Softplus):
    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


def _slope(power: int, x: torch.Tensor) -> torch.Tensor:
    """The gradient of sum(f(x)**power) + sum(x**3), kept differentiable."""
    loss = (_OnceSoftplus.apply(x) ** power if power != 1 else _OnceSoftplus.apply(x)).sum()
    (slope,) = torch.autograd.grad(loss + (x**3).sum(), x, create_graph=True)
    return slope


@pytest.mark.parametrize("power", [1, 2])
def test_once_differentiable_is_silently_dropped_by_autograd_grad(power):
    """Page 16: torch.autograd.grad never reaches once_differentiable's error node."""
    x = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    (second,) = torch.autograd.grad(_slope(power, x).sum(), x)
    torch.testing.assert_close(second, 6 * x.detach())  # only the x**3 term is left


def test_once_differentiable_raises_in_backward_only_after_a_grad_output_that_requires_grad():
    """Page 16: .backward() raises for sum(f(x)**2), and drops the term for sum(f(x))."""
    x = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    _slope(1, x).sum().backward()
    torch.testing.assert_close(x.grad, 6 * x.detach())
    x.grad = None
    with pytest.raises(RuntimeError, match="marked with @once_differentiable"):
        _slope(2, x).sum().backward()


def test_cpu_autocast_runs_float16_without_a_warning():
    """Page 18: CPU autocast accepts float16 (pytest turns a warning into an error here)."""
    with torch.autocast("cpu", dtype=torch.float16):
        output = nn.Linear(2, 1)(torch.rand(4, 2))
    assert output.dtype == torch.float16


def _seeded_by_rank(rank: int, world_size: int) -> dict:
    """Each rank seeds differently, so each builds other weights before DDP wraps them."""
    from torch.nn.parallel import DistributedDataParallel

    torch.manual_seed(rank)
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    model[1].running_mean += rank  # a buffer that differs between the ranks too
    built = {k: v.clone() for k, v in model.state_dict().items()}
    DistributedDataParallel(model)
    return {"built": built, "wrapped": model.state_dict()}


@pytest.mark.slow
def test_ddp_broadcasts_rank_zeros_parameters_and_buffers_whatever_the_seed():
    """Page 20: the ranks start equal because DDP copies rank 0's state, not because of a seed."""
    results = launch(_seeded_by_rank, 2, timeout=60)
    built_0, built_1 = results[0]["built"], results[1]["built"]
    assert not torch.equal(built_0["0.weight"], built_1["0.weight"])
    for rank in range(2):
        for key, value in results[rank]["wrapped"].items():
            assert torch.equal(value, built_0[key]), f"rank {rank}: {key} is not rank 0's"
