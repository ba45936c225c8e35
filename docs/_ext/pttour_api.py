"""The ``pttour-api`` directive: the reference of one pttour module, read from its ``__all__``.

``.. pttour-api:: pttour.tensors`` expands to the module's docstring (``automodule``), then
``autoclass`` / ``autofunction`` for each name the module exports, documented under the name a
reader uses (``pttour.describe``, the same name the tutorials call, so their code links here).
At the end of each module comes one Sphinx-Gallery mini-gallery: the tutorials that use any of
its names (one per module rather than one per name keeps the page short and each card once).
A constant shows its value only when that value is short: the page documents, it does not dump.

Reading ``__all__`` keeps the page complete by construction: a new public function appears in
the reference without anyone editing the page.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

PACKAGE = "pttour"
# One message for every mini-gallery, so the catalog holds it once.
MINIGALLERY_RUBRIC = "Tutorials that use this module"
# Longer values (a table of errata, a mapping) are described by their docstring instead.
MAX_VALUE_CHARS = 80


def public_names(module_name: str) -> list[str]:
    """The names a module exports (its ``__all__``), in that order.

    >>> public_names("pttour.errors")[:2]
    ['ArchitectureMismatchError', 'CheckpointError']
    """
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        raise ExtensionError(f"{module_name} has no __all__; list its public names there.")
    return list(names)


def package_file() -> str:
    """The ``__init__.py`` that decides what is public."""
    return str(importlib.import_module(PACKAGE).__file__)


def _has_tutorials(srcdir: Path, backreferences_dir: str, qualified_name: str) -> bool:
    # Sphinx-Gallery writes one "<name>.examples" file per object a tutorial uses; an empty
    # or missing file means no tutorial uses it (and a mini-gallery there would be empty).
    examples = srcdir / backreferences_dir / f"{qualified_name}.examples"
    return examples.is_file() and examples.stat().st_size > 0


def _data_lines(module_name: str, name: str, value: object, qualified: str) -> list[str]:
    # autodata would look for the ``#:`` comment in pttour/__init__.py, where the constant is
    # only re-exported; take it from the module that defines it instead.
    docs = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", name), [])
    package, _, bare = qualified.rpartition(".")
    # ":module:" because automodule made the defining module current; the reader's name is
    # pttour.NAME, as for the functions.
    lines = [f".. py:data:: {bare}", f"   :module: {package}"]
    shown = repr(value)
    if len(shown) <= MAX_VALUE_CHARS and "\n" not in shown:
        lines.append(f"   :value: {shown}")
    lines.append("")
    lines += [f"   {line}" if line else "" for line in docs]
    return [*lines, ""]


class PttourApiDirective(SphinxDirective):
    """Document every public name of one pttour module."""

    required_arguments = 1
    has_content = False
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        module_name = self.arguments[0]
        module = importlib.import_module(module_name)
        _documented(self.env)[module_name] = self.env.docname
        # a module newly exported from pttour/__init__.py must re-run the completeness check
        self.env.note_dependency(str(Path(package_file())))
        package = importlib.import_module(PACKAGE)
        backreferences_dir = self.config.sphinx_gallery_conf.get("backreferences_dir") or ""
        lines = [f".. automodule:: {module_name}", ""]
        used: list[str] = []  # the names that some tutorial uses, for the module's mini-gallery
        for name in public_names(module_name):
            obj = getattr(module, name)
            if getattr(package, name, None) is not obj:
                raise ExtensionError(
                    f"{module_name}.{name} is not re-exported as {PACKAGE}.{name}; "
                    f"add {module_name.rsplit('.', 1)[-1]} to {PACKAGE}/__init__.py."
                )
            qualified = f"{PACKAGE}.{name}"
            if inspect.isclass(obj):
                lines += [f".. autoclass:: {qualified}", "   :members:"]
                if obj.__bases__ != (object,):  # "Bases: object" says nothing
                    lines += ["   :show-inheritance:"]
                lines += [""]
            elif callable(obj):
                lines += [f".. autofunction:: {qualified}", ""]
            else:
                lines += _data_lines(module_name, name, obj, qualified)
            if backreferences_dir:
                examples = Path(self.env.srcdir, backreferences_dir, f"{qualified}.examples")
                if examples.is_file():
                    # re-read this page when the tutorials using the object change (a missing
                    # dependency would make Sphinx re-read the page on every build)
                    self.env.note_dependency(str(examples))
                if _has_tutorials(Path(self.env.srcdir), backreferences_dir, qualified):
                    used.append(qualified)
        if used:
            lines += [
                f".. rubric:: {MINIGALLERY_RUBRIC}",
                "",
                f".. minigallery:: {' '.join(used)}",
                "",
            ]
        return self.parse_text_to_nodes("\n".join(lines))


# -- every public name is on the page -------------------------------------------------------------


def _documented(env: BuildEnvironment) -> dict[str, str]:
    """Module name -> the page whose ``pttour-api`` directive documents it (kept in the env)."""
    if not hasattr(env, "pttour_api_modules"):
        env.pttour_api_modules = {}
    return env.pttour_api_modules


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    modules = _documented(env)
    for module_name in [m for m, doc in modules.items() if doc == docname]:
        del modules[module_name]


def _merge(app: Sphinx, env: BuildEnvironment, docnames: Any, other: BuildEnvironment) -> None:
    _documented(env).update(_documented(other))


def check_every_name_documented(app: Sphinx, env: BuildEnvironment) -> None:
    """Warn (an error under ``-W``) about public names that no ``pttour-api`` section covers."""
    package = importlib.import_module(PACKAGE)
    documented = {name for module in _documented(env) for name in public_names(module)}
    missing = [name for name in package.__all__ if name not in documented]
    if missing:
        modules = sorted({getattr(package, n).__module__ for n in missing if hasattr(package, n)})
        sections = ", ".join(f"``.. pttour-api:: {m}``" for m in modules)
        logger.warning(
            "the API reference misses %s: add a section with %s to docs/api.rst",
            ", ".join(f"{PACKAGE}.{n}" for n in missing),
            sections or "the module that defines them",
        )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("pttour-api", PttourApiDirective)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", check_every_name_documented)
    return {
        "version": "1.2",
        "env_version": 2,  # bump when the directive's output or its env data changes
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
