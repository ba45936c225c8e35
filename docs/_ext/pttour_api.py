"""The ``pttour-api`` directive: one pttour module's reference, complete by construction.

``.. pttour-api:: pttour.tensors`` documents the module and each name of its ``__all__`` under the
name a reader uses (``pttour.describe``), then the tutorials that use them (a mini-gallery).
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

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
    """The names a module exports (its ``__all__``), in that order."""
    names = getattr(importlib.import_module(module_name), "__all__", None)
    if names is None:
        raise ExtensionError(f"{module_name} has no __all__; list its public names there.")
    return list(names)


def _data_lines(module_name: str, name: str, value: object) -> list[str]:
    # The ``#:`` comment of the module that defines the constant (autodata would look in
    # pttour/__init__.py); ":module:" gives it the reader's name, pttour.NAME.
    docs = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", name), [])
    lines = [f".. py:data:: {name}", f"   :module: {PACKAGE}"]
    shown = repr(value)
    if len(shown) <= MAX_VALUE_CHARS and "\n" not in shown:
        lines.append(f"   :value: {shown}")
    return [*lines, "", *(f"   {line}" if line else "" for line in docs), ""]


class PttourApiDirective(SphinxDirective):
    """Document every public name of one pttour module."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module_name = self.arguments[0]
        module = importlib.import_module(module_name)
        package = importlib.import_module(PACKAGE)
        # a module newly exported from pttour/__init__.py must re-run the completeness check
        self.env.note_dependency(str(Path(str(package.__file__))))
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
                lines += _data_lines(module_name, name, obj)
            # Sphinx-Gallery writes one "<name>.examples" file per object; empty: no tutorial
            # uses it. A changed file re-reads this page (a missing one would re-read it always).
            examples = Path(self.env.srcdir, backreferences_dir, f"{qualified}.examples")
            if backreferences_dir and examples.is_file():
                self.env.note_dependency(str(examples))
                if examples.stat().st_size > 0:
                    used.append(qualified)
        if used:
            lines += [f".. rubric:: {MINIGALLERY_RUBRIC}", "", ".. minigallery:: " + " ".join(used)]
        return self.parse_text_to_nodes("\n".join(lines))


def check_every_name_documented(app: Sphinx, env: BuildEnvironment) -> None:
    """Warn (an error under ``-W``) about public names that no ``pttour-api`` section covers."""
    package = importlib.import_module(PACKAGE)
    documented = env.get_domain("py").objects
    missing = [name for name in package.__all__ if f"{PACKAGE}.{name}" not in documented]
    if missing:
        modules = sorted({getattr(package, name).__module__ for name in missing})
        logger.warning(
            "the API reference misses %s: add a section with %s to docs/api.rst",
            ", ".join(f"{PACKAGE}.{name}" for name in missing),
            ", ".join(f"``.. pttour-api:: {module}``" for module in modules),
        )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("pttour-api", PttourApiDirective)
    app.connect("env-check-consistency", check_every_name_documented)
    return {
        "version": "1.2",
        "env_version": 3,  # bump when the directive's output changes
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
