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


REMOVED = [
    # docs-only data, now docs/_data/errata.toml and docs/_ext/pttour_errata.py
    "ERRATA", "KINDS", "SECTIONS", "TUTORIALS", "Erratum", "errata_for", "render_errata_page",
    # torch seeds its workers' NumPy itself; spawn needs no port; test data is the tests' own
    "seed_worker", "find_free_port", "linear_data",
]  # fmt: skip


@pytest.mark.parametrize("name", REMOVED)
def test_names_that_are_not_part_of_the_lesson_are_gone(name):
    assert not hasattr(pttour, name)
    assert name not in pttour.__all__


def test_argument_checks_follow_one_rule():
    # A value of the wrong type is a TypeError, a value out of range a ValueError; both name it.
    with pytest.raises(TypeError, match=r"^batch_size must be an int >= 1, got 2.0"):
        pttour.count_batches(4, 2.0)
    with pytest.raises(ValueError, match=r"^batch_size must be an int >= 1, got 0"):
        pttour.count_batches(4, 0)
    with pytest.raises(TypeError, match=r"^epoch must be an int >= 0, got '1'"):
        pttour.checkpoint_path("runs", "1")
