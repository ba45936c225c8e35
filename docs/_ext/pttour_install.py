"""How a reader installs pttour: the wheel on the site, and the first cell of every notebook.

The ``pttour-wheel`` directive links the wheel that ``nox -s docs`` puts at the site's ``dist/``
and gives its pip command; :func:`install_cell` installs it with whatever else is missing.
"""

from __future__ import annotations

from typing import Any


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
    """The first cell of every notebook: IPython's ``%pip`` (into the kernel's environment, in
    Jupyter and Colab) installs what is missing or too old; on Linux without an NVIDIA driver,
    torch comes from the CPU-only index, as the install page says."""
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


def setup(app: Any) -> dict[str, Any]:
    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class WheelDirective(SphinxDirective):
        """``pttour-wheel``: a link to the wheel on this site, then the pip command for it."""

        def run(self) -> list[nodes.Node]:
            name = wheel_name(self.config.release)
            site_root = "../" * (self.env.docname.count("/") + 1)  # above the language folder
            link = nodes.reference(name, name, refuri=f"{site_root}dist/{name}")
            command = f"$ python -m pip install {self.config.pttour_site_url}dist/{name}"
            # The file name is the same in every language: no message for the catalogs.
            paragraph = nodes.paragraph("", "", link, translatable=False)
            return [paragraph, nodes.literal_block(command, command, language="console")]

    app.add_config_value("pttour_site_url", "", "html", types=[str])
    app.add_directive("pttour-wheel", WheelDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
