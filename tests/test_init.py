"""The public API: every re-exported name is unique, documented and has a runnable example."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import torch

import pttour

PUBLIC_CALLABLES = [
    name
    for name in pttour.__all__
    if inspect.isfunction(getattr(pttour, name)) or inspect.isclass(getattr(pttour, name))
]


def test_no_name_is_exported_twice():
    duplicates = {name for name in pttour.__all__ if pttour.__all__.count(name) > 1}
    assert not duplicates, f"two modules export the same names: {sorted(duplicates)}"


def test_every_exported_name_exists():
    missing = [name for name in pttour.__all__ if not hasattr(pttour, name)]
    assert not missing, f"__all__ lists names pttour does not define: {missing}"


@pytest.mark.parametrize("name", PUBLIC_CALLABLES)
def test_public_function_or_class_has_a_doctest(name):
    doc = inspect.getdoc(getattr(pttour, name)) or ""
    assert ">>>" in doc, f"pttour.{name} has no runnable >>> example in its docstring"


TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"


def test_every_public_function_is_used_in_a_tutorials_code():
    # The library is the tutorials' answer key: a function no page calls is not part of it.
    code = "\n".join(
        line
        for script in TUTORIALS.glob("plot_*.py")
        for line in script.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")  # the prose and the comments do not count
    )
    functions = [name for name in pttour.__all__ if inspect.isfunction(getattr(pttour, name))]
    unused = [name for name in functions if not re.search(rf"\b{name}\b", code)]
    assert functions, "pttour exports no function"
    assert not unused, f"no tutorial's code calls these pttour functions: {unused}"


def test_argument_checks_follow_one_rule():
    # A value of the wrong type is a TypeError, a value out of range a ValueError; both name it.
    with pytest.raises(TypeError, match=r"^batch_size must be an int >= 1, got 2.0"):
        pttour.count_batches(4, 2.0)
    with pytest.raises(ValueError, match=r"^batch_size must be an int >= 1, got 0"):
        pttour.count_batches(4, 0)
    with pytest.raises(TypeError, match=r"^epoch must be an int >= 0, got '1'"):
        pttour.checkpoint_path("runs", "1")
    # A device this machine does not have is a wrong value too, not a broken environment.
    missing = f"cuda:{torch.cuda.device_count()}"  # one past the last GPU, on any machine
    with pytest.raises(ValueError, match=f"^device '{missing}' was requested but"):
        pttour.pick_device(missing)
