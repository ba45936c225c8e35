"""The torch versions the tests ran on (``nox -s compat``), for the pages to show.

After each leg passes, ``python docs/_ext/pttour_compat.py LEG REQUESTED`` records its torch in
``docs/_data/compat.json``; the ``pttour-version`` role shows it (``torch-tested``) and the oldest
supported versions (``torch-minimum``, ``python-minimum``), so that no page or message holds a
version. Only the standard library at top level: the tests use this module without Sphinx.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pttour.environment import MIN_PYTHON, MIN_TORCH, collect_environment

if TYPE_CHECKING:
    from sphinx.application import Sphinx

RECORD = Path(__file__).resolve().parents[1] / "_data" / "compat.json"
#: The legs of ``nox -s compat``, in the order the pages name them.
LEGS = ("oldest", "pinned", "newest")
_PUBLIC = re.compile(r"\d+(\.\d+)*")  # "2.13.0" of "2.13.0+cpu"; a local label names a build


@dataclass(frozen=True)
class Run:
    """One leg of ``nox -s compat``: the torch pip was asked for, and what the tests ran on."""

    leg: str
    requested: str
    torch: str
    build: str
    python: str

    @property
    def version(self) -> str:
        """The torch release, without the local label that names the build (``+cpu``)."""
        return self.torch.split("+")[0]


_FIELDS = tuple(f.name for f in fields(Run))[1:]  # all but the leg, which is the key


def parse(data: Any) -> tuple[Run, ...]:
    """Check the data read from the record and return one :class:`Run` per leg, in leg order;
    ``ValueError`` names the leg and the field of whatever is missing, extra or malformed."""
    again = "; run `nox -s compat`, which writes this file"
    if not isinstance(data, dict) or list(data) != list(LEGS):
        found = list(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"the compat record must hold the legs {list(LEGS)}, got {found}{again}")
    for leg, run in data.items():
        if not isinstance(run, dict) or sorted(run) != sorted(_FIELDS):
            found = sorted(run) if isinstance(run, dict) else type(run).__name__
            raise ValueError(
                f"leg {leg!r} must have the fields {list(_FIELDS)}, got {found}{again}"
            )
        for field, value in run.items():
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"leg {leg!r} has an empty or missing {field!r}{again}")
        if not _PUBLIC.match(run["torch"]):
            raise ValueError(f"leg {leg!r} has no torch version: {run['torch']!r}{again}")
    return tuple(Run(leg, **run) for leg, run in data.items())


def load(path: Path = RECORD) -> tuple[Run, ...]:
    """Read and check the record that ``nox -s compat`` wrote."""
    return parse(json.loads(path.read_text(encoding="utf-8")))


def record(leg: str, requested: str, path: Path = RECORD) -> Run:
    """Write what this process runs on into the record as ``leg``, which pip got as
    ``requested``; the other legs are kept, and the file changes only when a version does."""
    if leg not in LEGS:
        raise ValueError(f"unknown leg {leg!r}; use one of: {', '.join(LEGS)}")
    report = collect_environment()
    run = Run(leg, requested, report.torch_version, report.build, report.python_version)
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data[leg] = {field: getattr(run, field) for field in _FIELDS}
    text = json.dumps({name: data[name] for name in LEGS if name in data}, indent=2) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return run


def tested_versions(runs: tuple[Run, ...]) -> tuple[str, ...]:
    """The torch releases the tests ran on, oldest leg first, each once."""
    return tuple(dict.fromkeys(run.version for run in runs))


# How each language writes "A, B and C".
_LISTS = {"en": (", ", " and "), "zh_CN": ("、", " 和 ")}


def enumerate_versions(versions: tuple[str, ...], language: str | None = "en") -> str:
    """``A, B and C`` in the page's language (English for a language without its own form)."""
    comma, last = _LISTS.get(language or "en", _LISTS["en"])
    return last.join(filter(None, [comma.join(versions[:-1]), versions[-1]]))


def version_text(key: str, language: str | None, path: Path = RECORD) -> str:
    """The text the ``pttour-version`` role shows for ``key``."""
    if key == "torch-tested":
        return enumerate_versions(tested_versions(load(path)), language)
    minimums = {"torch-minimum": MIN_TORCH, "python-minimum": MIN_PYTHON}
    if key not in minimums:
        raise ValueError(
            f"unknown pttour-version {key!r}; use one of: torch-tested, {', '.join(minimums)}"
        )
    return "{}.{}".format(*minimums[key])


def version_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``:pttour-version:`torch-tested```: the versions as text, from the single sources."""
    from docutils import nodes

    env = inliner.document.settings.env
    env.note_dependency(str(RECORD))  # a new record re-reads the pages that show it
    try:
        return [nodes.Text(version_text(text, env.config.language))], []
    except ValueError as error:
        message = inliner.reporter.error(str(error), line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_role("pttour-version", version_role)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    import sys

    leg, requested = sys.argv[1:]  # as noxfile.py calls it: python pttour_compat.py LEG REQUESTED
    run = record(leg, requested)
    print(f"{run.leg}: torch {run.torch} ({run.build}), Python {run.python}; recorded in {RECORD}")
