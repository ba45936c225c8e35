"""The record of ``nox -s compat`` is no older than the torch versions pttour supports and pins.

``docs/_data/compat.json`` says which torch each leg of ``nox -s compat`` ran on; the install
and errata pages show it. It is written by that session only, so these tests fail, saying to run
it, when ``pyproject.toml`` raises the oldest supported torch or ``noxfile.py`` pins another one
and nobody ran it since. ``nox -s compat`` itself leaves this file out (it is about to rewrite
the record); ``nox -s tests`` runs it. Nothing here depends on the installed torch.
"""

from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pttour.environment import MIN_TORCH

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import pttour_compat

RERUN = "docs/_data/compat.json is out of date: run `nox -s compat` and commit the file"


def _noxfile_constant(name: str) -> str:
    """A string constant assigned at the top level of noxfile.py (read, not imported)."""
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            name
        ]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"noxfile.py assigns no {name}")


@pytest.fixture(scope="module")
def runs() -> dict[str, pttour_compat.Run]:
    return {run.leg: run for run in pttour_compat.load()}


def test_every_leg_is_recorded_in_order(runs):
    assert tuple(runs) == pttour_compat.LEGS == ("oldest", "pinned", "newest")


def test_the_oldest_leg_ran_the_oldest_supported_torch(runs):
    oldest = Version(runs["oldest"].version)
    assert (oldest.major, oldest.minor) == MIN_TORCH, (
        f"{RERUN} (its oldest leg ran torch {oldest}; pyproject.toml supports torch "
        f">={'.'.join(map(str, MIN_TORCH))})"
    )


def test_the_pinned_leg_ran_the_torch_that_the_noxfile_pins(runs):
    pin = _noxfile_constant("TORCH")
    assert runs["pinned"].requested == pin, f"{RERUN} (noxfile.py now pins {pin})"
    assert SpecifierSet(pin.removeprefix("torch")).contains(runs["pinned"].version), RERUN


def test_the_newest_leg_is_no_older_than_the_others(runs):
    versions = [Version(runs[leg].version) for leg in pttour_compat.LEGS]
    assert versions == sorted(versions), f"{RERUN} (legs ran {[str(v) for v in versions]})"


def test_the_pages_name_each_tested_version_once(runs):
    tested = pttour_compat.tested_versions(tuple(runs.values()))
    assert tested == tuple(dict.fromkeys(run.version for run in runs.values()))
    text = pttour_compat.enumerate_versions(tested)
    assert all(version in text for version in tested)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: data.pop("newest"), r"must hold the legs \['oldest', 'pinned', 'newest'\]"),
        (lambda data: data["oldest"].pop("build"), "leg 'oldest' must have the fields"),
        (lambda data: data["pinned"].update(extra="x"), "leg 'pinned' must have the fields"),
        (lambda data: data["newest"].update(torch=" "), "leg 'newest' has an empty or missing"),
        (lambda data: data["newest"].update(torch="latest"), "leg 'newest' has no torch version"),
    ],
)
def test_the_loader_rejects_a_broken_record(change, message):
    data = copy.deepcopy(json.loads(pttour_compat.RECORD.read_text(encoding="utf-8")))
    change(data)
    with pytest.raises(ValueError, match=message):
        pttour_compat.parse(data)


def test_the_role_shows_the_minimums_from_the_metadata():
    assert pttour_compat.version_text("torch-minimum", "en") == "{}.{}".format(*MIN_TORCH)
    with pytest.raises(ValueError, match="unknown pttour-version 'torch-maximum'"):
        pttour_compat.version_text("torch-maximum", "en")
