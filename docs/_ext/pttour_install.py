"""How a reader installs pttour: the wheel on the site, and the first cell of every notebook.

Everything here comes from pttour's metadata (``pyproject.toml``), never from a second copy:
the site's address (``[project.urls] Documentation``), the oldest supported torch (the lower
bound in ``dependencies``) and the version, which names the wheel. ``nox -s docs`` puts the
freshly built wheel at ``dist/`` under the site root, where its address stays the same until
the next release; this extension gives the pages what points to it:

- ``install_cell``: the first cell of every downloaded notebook (Sphinx-Gallery's
  ``first_notebook_cell``, set in ``conf.py``);
- the ``pttour-wheel`` directive: a link to the wheel and the pip command that installs it;
- Sphinx-Gallery writes a notebook only when its tutorial changes, so a notebook whose first
  cell is out of date (after a release, say) makes its tutorial run again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol


class _Metadata(Protocol):
    """What ``importlib.metadata.metadata()`` and ``email.message.Message`` both offer."""

    def __getitem__(self, name: str) -> str: ...
    def get_all(self, name: str) -> list[str] | None: ...


def project_url(metadata: _Metadata, label: str) -> str:
    """The address that ``[project.urls]`` gives under ``label``.

    >>> from email.message import Message
    >>> metadata = Message()
    >>> metadata["Project-URL"] = "Documentation, https://example.org/docs/"
    >>> project_url(metadata, "Documentation")
    'https://example.org/docs/'
    """
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL") or [])
    if label not in urls:
        raise KeyError(f"pyproject.toml gives no {label!r} in [project.urls]: {sorted(urls)}")
    return urls[label]


def wheel_name(version: str) -> str:
    """The file name of pttour's wheel (pure Python, any platform)."""
    return f"pttour-{version}-py3-none-any.whl"


# The comments of the install cell, in each site language.
_CELL_COMMENTS = {
    "en": (
        "Installs what the tutorials need and this environment lacks; with all of it there, it",
        "does nothing. Install page: {site}en/install.html",
        "Linux without an NVIDIA GPU gets torch's CPU-only build (PyPI's Linux wheel is the",
        "CUDA build, several GB); Colab comes with torch, so only the rest is installed there.",
    ),
    "zh_CN": (
        "安装教程需要而当前环境缺少的包；都已具备时什么也不做。",
        "安装页面：{site}zh_CN/install.html",
        "没有 NVIDIA GPU 的 Linux 安装 torch 的纯 CPU 版本（PyPI 上的 Linux 包是 CUDA 版，",
        "有好几 GB）；Colab 自带 torch，只安装其余的包。",
    ),
}
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def install_cell(site_url: str, version: str, torch_min: str, language: str = "en") -> str:
    """The first cell of every notebook: install what the tutorials need and is missing.

    Plain Python around IPython's ``%pip`` (which installs into the running kernel's
    environment), so the one cell works in Jupyter and in Colab. torch is installed only when
    it is missing or too old (Colab, for one, comes with a recent torch), and on Linux without
    an NVIDIA driver (no ``nvidia-smi``) from the CPU-only index, as the install page does.
    """
    minimum = tuple(int(part) for part in torch_min.split("."))
    notes = [f"# {line.format(site=site_url)}" for line in _CELL_COMMENTS[language]]
    return f"""\
{notes[0]}
{notes[1]}
import platform
import shutil
from importlib.metadata import PackageNotFoundError, version


def _needs(name, minimum=(0,)):
    try:
        found = version(name)
    except PackageNotFoundError:
        return True
    return tuple(int(part) for part in found.split("+")[0].split(".")[:2]) < minimum


{notes[2]}
{notes[3]}
if _needs("torch", {minimum!r}):
    if platform.system() == "Linux" and shutil.which("nvidia-smi") is None:
        %pip install "torch>={torch_min}" --index-url {CPU_INDEX}
    else:
        %pip install "torch>={torch_min}"
if _needs("matplotlib"):
    %pip install matplotlib
if _needs("scikit-learn"):
    %pip install scikit-learn
if _needs("pttour"):
    %pip install {site_url}dist/{wheel_name(version)}
"""


def _site_root(docname: str) -> str:
    """Relative URL from page ``docname`` to the site root, above the language folders.

    >>> _site_root("install"), _site_root("auto_tutorials/plot_01_what_is_pytorch")
    ('../', '../../')
    """
    return "../" * (docname.count("/") + 1)


def _wheel_directive() -> type:
    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class WheelDirective(SphinxDirective):
        """``pttour-wheel``: a link to the wheel on this site, then the pip command for it."""

        has_content = False

        def run(self) -> list[nodes.Node]:
            name = wheel_name(self.config.release)
            link = nodes.reference(name, name, refuri=f"{_site_root(self.env.docname)}dist/{name}")
            command = f"$ python -m pip install {self.config.pttour_site_url}dist/{name}"
            block = nodes.literal_block(command, command, language="console")
            # The file name is the same in every language, and changes with each release:
            # it is no message for the catalogs.
            paragraph = nodes.paragraph("", "", link, translatable=False)
            return [paragraph, block]

    return WheelDirective


def refresh_stale_notebooks(app: Any) -> None:
    """Make a tutorial run again when its notebook does not start with today's install cell."""
    conf = app.config.sphinx_gallery_conf
    cell = (conf.get("first_notebook_cell") or "").strip()
    for notebook in Path(app.srcdir, conf["gallery_dirs"]).glob("plot_*.ipynb"):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        if not cells or "".join(cells[0]["source"]) != cell:
            notebook.with_suffix(".py.md5").unlink(missing_ok=True)


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("pttour_site_url", "", "html", types=[str])
    app.add_directive("pttour-wheel", _wheel_directive())
    # before Sphinx-Gallery (priority 500) decides which tutorials to run
    app.connect("builder-inited", refresh_stale_notebooks, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
