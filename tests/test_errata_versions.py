"""The errata across torch versions: each failure names its erratum; per-version behaviours.

The tests run on several torch versions (``nox -s compat``), and the only test allowed to depend
on one version's behaviour or wording is an erratum's: reproducing the article's mistake is its
job. So every check in an erratum test of ``tests/test_errata.py`` must name its erratum when it
fails, through the helpers there (``outdated``, ``fix_fails``, ``still_raises``,
``still_warns``); the first test here reads that file and holds it to this.

An erratum may also behave differently on some torch versions; no erratum of the article needs
it yet. When a PyTorch release changes how one shows, its entry
in ``docs/_data/errata.toml`` gets ``[[erratum.behaviour]]`` tables (a version range and what
happens there), the page shows each, and the erratum's test checks the one that
``Erratum.behaviour_on(torch.__version__)`` selects; ``nox -s compat`` runs it on every tested
torch. Here a made-up erratum stands in, with made-up tested versions.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
import pttour_errata

ERRATA_TESTS = Path(__file__).resolve().with_name("test_errata.py")

TOML = """
kinds = ["crash"]
[sections]
"§4.1" = "Tensors"

[[erratum]]
id = "E01"
section = "§4.1"
kind = "crash"
title = "A call that stopped raising"
tutorial = "plot_03_tensors"
description = "The article calls f(x)."
observed = "f(x) returns None."
correction = "Call g(x)."

[[erratum.behaviour]]
torch = "<2.9"
observed = "f(x) raises TypeError."

[[erratum.behaviour]]
torch = ">=2.9,<2.12"
observed = "f(x) warns, then returns None."
"""
TESTED = ("2.6.0", "2.10.0", "2.13.0")


def _unnamed_checks(source: str) -> list[str]:
    """The checks of ``test_eNN_*`` functions whose failure would not name erratum ENN."""
    found = []
    for test in ast.parse(source).body:
        if not isinstance(test, ast.FunctionDef) or not re.match(r"test_e\d\d_", test.name):
            continue
        eid = test.name[5:8].upper()
        # Inside `with still_raises("E07", ...)` the helper names the erratum.
        wrapped = {
            id(inner)
            for block in ast.walk(test)
            if isinstance(block, ast.With)
            and any(f"('{eid}'" in ast.unparse(item.context_expr) for item in block.items)
            for statement in block.body
            for inner in ast.walk(statement)
        }
        for node in ast.walk(test):
            if id(node) in wrapped:
                continue
            message = None
            if isinstance(node, ast.Assert):
                message = node.msg
            elif isinstance(node, ast.Call):
                call = ast.unparse(node.func)
                if call in ("pytest.raises", "pytest.warns"):
                    found.append(f"{test.name}, line {node.lineno}: {call} (use still_raises)")
                    continue
                if call != "torch.testing.assert_close":
                    continue
                message = next((k.value for k in node.keywords if k.arg == "msg"), None)
            else:
                continue
            if message is None or f"'{eid}'" not in ast.unparse(message):
                found.append(f"{test.name}, line {node.lineno}: no message naming {eid}")
    return found


def test_every_check_of_an_erratum_test_names_its_erratum():
    assert _unnamed_checks(ERRATA_TESTS.read_text(encoding="utf-8")) == []
    # The audit itself catches each kind of unnamed check.
    unnamed = _unnamed_checks(
        "def test_e07_x():\n"
        "    assert a\n"
        "    assert b, outdated('E08', 'another erratum')\n"
        "    torch.testing.assert_close(a, b)\n"
        "    with pytest.raises(TypeError):\n"
        "        f()\n"
        "    assert c, fix_fails('E07')\n"
        "    torch.testing.assert_close(a, b, msg=outdated('E07', 'x'))\n"
        "    with still_raises('E07', AssertionError, 'shape'):\n"
        "        torch.testing.assert_close(a, b)\n"
    )
    assert [line.split(":")[0] for line in unnamed] == [
        f"test_e07_x, line {n}" for n in (2, 3, 4, 5)
    ]


def _data() -> dict:
    tomllib = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    return tomllib.loads(TOML)


@pytest.fixture
def errata() -> pttour_errata.Errata:
    return pttour_errata.parse(_data(), {"plot_03_tensors": "Tensors"}, TESTED)


@pytest.fixture
def erratum(errata) -> pttour_errata.Erratum:
    (entry,) = errata.entries
    return entry


def test_each_tested_version_gets_its_recorded_behaviour(erratum):
    seen = {version: erratum.behaviour_on(version) for version in (*TESTED, "2.8.1+cu126")}
    assert seen["2.6.0"].observed == seen["2.8.1+cu126"].observed == "f(x) raises TypeError."
    assert seen["2.10.0"].observed == "f(x) warns, then returns None."
    assert seen["2.13.0"] is None  # no range names it: `observed` is what happens there


def test_the_page_shows_every_behaviour_after_the_default(errata):
    page = pttour_errata.render(errata, link_to_tutorials=False)
    assert (
        "**What happens:** f(x) returns None.\n\n"
        "**On torch <2.9:** f(x) raises TypeError.\n\n"
        "**On torch >=2.9,<2.12:** f(x) warns, then returns None.\n\n"
        "**Fix:** Call g(x).\n"
    ) in page
    assert "checked by ``tests/test_errata.py``, on torch 2.6.0, 2.10.0 and 2.13.0:" in page
    core = pytest.importorskip("docutils.core", reason="docutils is not installed here")
    report = io.StringIO()
    core.publish_doctree(page, settings_overrides={"warning_stream": report, "report_level": 2})
    assert report.getvalue() == ""


@pytest.mark.parametrize(
    ("tables", "tested", "message"),
    [
        ({"torch": "<2.9"}, TESTED, r"has the fields \['torch', 'observed'\]"),
        ({"torch": "<2.9", "observed": "", "since": "x"}, TESTED, "has the fields"),
        ({"torch": "<2.9", "observed": " "}, TESTED, "empty 'observed'"),
        ({"torch": "before 2.9", "observed": "o"}, TESTED, "is not a version range"),
        ({"torch": "<2.6", "observed": "o"}, TESTED, "no test checks that behaviour"),
        ({"torch": "<2.11", "observed": "o"}, TESTED, r"torch 2.6.0 lies in more than one"),
    ],
)
def test_the_loader_refuses_a_behaviour_no_test_can_check(tables, tested, message):
    data = _data()
    data["erratum"][0]["behaviour"].append(tables)
    with pytest.raises(ValueError, match=message):
        pttour_errata.parse(data, {"plot_03_tensors": "Tensors"}, tested)
