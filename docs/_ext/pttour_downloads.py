"""Chinese downloads: the tutorial scripts and notebooks of a translated page, translated.

Sphinx-Gallery makes the ``.py``, ``.ipynb`` and ``.zip`` downloads from the English sources, and
the Chinese build copies them as they are. After a translated HTML build this extension
rewrites those copies in the output: the prose of each script (its docstring and ``# %%`` text
cells) goes through the page's catalog, paragraph by paragraph and title by title, exactly as
on the page; code is left byte for byte as it ran. Anything the catalog does not translate
stays English, so a partial translation still gives a correct script.
"""

from __future__ import annotations

import gettext
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

_UNDERLINE = re.compile(r"([=\-~^\"'`#*+<>:._])\1+")
_BULLET = re.compile(r"[-*+] ")


def display_width(text: str) -> int:
    """Columns ``text`` takes, as docutils counts them for a title's underline.

    >>> display_width("Tensors"), display_width("张量")
    (7, 4)
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _translate_paragraph(lines: list[str], translate: Callable[[str], str]) -> list[str] | None:
    message = " ".join(line.strip() for line in lines)
    translated = translate(message)
    return [translated] if translated and translated != message else None


def _translate_chunk(chunk: str, translate: Callable[[str], str]) -> tuple[str, bool]:
    lines = chunk.splitlines()
    first = lines[0]
    if first[:1].isspace() or first.startswith(".."):
        return chunk, False  # indented material, directives, labels, comments: as written
    if len(lines) == 2 and _UNDERLINE.fullmatch(lines[1].rstrip()):
        title = translate(first.strip())
        if title and title != first.strip():
            return f"{title}\n{lines[1][0] * display_width(title)}", True
        return chunk, False
    if _BULLET.match(first):
        items: list[list[str]] = []
        for line in lines:
            if _BULLET.match(line):
                items.append([line[2:]])
            elif line[:1].isspace() and items:
                items[-1].append(line)
            else:
                return chunk, False  # not a simple list
        out, changed = [], False
        for item in items:
            translated = _translate_paragraph(item, translate)
            changed |= translated is not None
            out.append(f"{first[0]} {(translated or [' '.join(x.strip() for x in item)])[0]}")
        return ("\n".join(out), True) if changed else (chunk, False)
    if any(line[:1].isspace() for line in lines[1:]):
        return chunk, False  # definition lists and the like
    translated = _translate_paragraph(lines, translate)
    return ("\n".join(translated), True) if translated else (chunk, False)


def translate_rst(text: str, translate: Callable[[str], str]) -> tuple[str, int]:
    """Translate the paragraphs, list items and titles of a reST text; count what changed.

    Each paragraph is looked up as Sphinx extracts it (its lines joined by spaces).

    >>> catalog = {"Tensors": "张量", "A tensor has a shape.": "张量有形状。"}
    >>> text, n = translate_rst("Tensors\\n=======\\n\\nA tensor\\nhas a shape.\\n\\n.. note:: x",
    ...                         lambda m: catalog.get(m, m))
    >>> print(text)
    张量
    ====
    <BLANKLINE>
    张量有形状。
    <BLANKLINE>
    .. note:: x
    >>> n
    2
    """
    chunks = re.split(r"\n[ \t]*\n", text.strip("\n"))
    out, count = [], 0
    for chunk in chunks:
        if not chunk.strip():
            continue
        translated, changed = _translate_chunk(chunk, translate)
        out.append(translated)
        count += changed
    return "\n\n".join(out), count


def _script(blocks: list[Any]) -> str:
    """A script from Sphinx-Gallery blocks: the docstring, then ``# %%`` cells."""
    docstring = blocks[0].content.strip("\n").replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    parts = [f'"""\n{docstring}\n"""\n\n']
    previous = "text"
    for block in blocks[1:]:
        if block.type == "code":
            parts.append(("# %%\n" if previous == "code" else "") + block.content)
        else:
            lines = block.content.rstrip("\n").splitlines()
            parts.append("# %%\n" + "".join(f"# {x}\n" if x else "#\n" for x in lines))
        previous = block.type
    return "".join(parts).rstrip("\n") + "\n"


def translate_tutorial(
    source: Path, translate: Callable[[str], str], gallery_conf: dict[str, Any]
) -> tuple[str, str] | None:
    """The translated script and notebook of one tutorial, or None when nothing translates."""
    from sphinx_gallery.notebook import jupyter_notebook
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    _, blocks = split_code_and_text_blocks(str(source))
    translated_blocks, count = [], 0
    for block in blocks:
        if block.type == "text":
            text, n = translate_rst(block.content, translate)
            count += n
            block = block._replace(content=text + "\n")
        translated_blocks.append(block)
    if count == 0:
        return None
    notebook = jupyter_notebook(translated_blocks, gallery_conf, source.parent)
    return _script(translated_blocks), json.dumps(notebook, indent=2)


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, mode="w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _write(paths: list[Path], data: bytes) -> None:
    for path in paths:
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


def translate_downloads(app: Sphinx, exception: Exception | None) -> None:
    """After a translated HTML build, replace the tutorials' downloads by translated ones."""
    from pttour_site import SOURCE_LANGUAGE, site_language

    if exception is not None or app.builder.format != "html":
        return
    if site_language(app.config.language) == SOURCE_LANGUAGE:
        return
    gallery_conf = app.config.sphinx_gallery_conf
    gallery_dir = Path(app.srcdir, gallery_conf["gallery_dirs"])
    downloads = Path(app.outdir, "_downloads")
    if not downloads.is_dir():
        return
    copies: dict[str, list[Path]] = {}
    for path in downloads.rglob("*"):
        if path.is_file():
            copies.setdefault(path.name, []).append(path)
    locale_dir = Path(app.srcdir, app.config.locale_dirs[0])
    all_py: dict[str, bytes] = {}
    all_ipynb: dict[str, bytes] = {}
    changed = 0
    for source in sorted(gallery_dir.glob("plot_*.py")):
        docname = f"{gallery_dir.name}/{source.stem}"
        catalog = gettext.translation(
            docname, localedir=locale_dir, languages=[app.config.language], fallback=True
        )
        result = translate_tutorial(source, catalog.gettext, gallery_conf)
        notebook = source.with_suffix(".ipynb")
        if result is None:
            py, ipynb = source.read_bytes(), notebook.read_bytes() if notebook.is_file() else b""
        else:
            py, ipynb = result[0].encode("utf-8"), result[1].encode("utf-8")
            changed += 1
            _write(copies.get(source.name, []), py)
            _write(copies.get(notebook.name, []), ipynb)
            members = {source.name: py, notebook.name: ipynb}
            _write(copies.get(f"{source.stem}.zip", []), _zip_bytes(members))
        all_py[source.name] = py
        all_ipynb[notebook.name] = ipynb
    if changed:
        _write(copies.get(f"{gallery_dir.name}_python.zip", []), _zip_bytes(all_py))
        _write(copies.get(f"{gallery_dir.name}_jupyter.zip", []), _zip_bytes(all_ipynb))
    logger.info("translated downloads: %d of %d tutorials", changed, len(all_py))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", translate_downloads)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
