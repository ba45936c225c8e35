"""The public API: every re-exported name is unique, documented and has a runnable example."""

from __future__ import annotations

import inspect

import pytest

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


def test_the_public_api_is_not_empty():
    assert len(PUBLIC_CALLABLES) >= 30, PUBLIC_CALLABLES
