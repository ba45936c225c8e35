"""The tutorials' downloads: plain Markdown in the notebooks, and Chinese on the Chinese site.

After an HTML build, the ``.py``, ``.ipynb`` and ``.zip`` that Sphinx-Gallery made from the English
sources are rewritten: lesson markers become plain text, roles become Markdown, and on a translated
build the prose and the comments go through the page's catalog, under file names that carry the
language. Code stays as it ran; whatever a catalog lacks stays English.
"""

from __future__ import annotations

import gettext
import io
import json
import re
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.utils import column_width
from pttour_install import install_cell
from pttour_lessons import translate_comments
from pttour_site import SOURCE_LANGUAGE, language_url, site_language
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import docname_join, logging
from sphinx_gallery import py_source_parser as parser
from sphinx_gallery.notebook import jupyter_notebook

import pttour

logger = logging.getLogger(__name__)

Translate = Callable[[str], str]
Link = Callable[[str, str], "tuple[str, str | None]"]

_UNDERLINE = re.compile(r"([=\-~^\"'`#*+<>:._])\1+")
_BULLET = re.compile(r"[-*+] ")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _translate_paragraph(lines: list[str], translate: Translate) -> str | None:
    """The translation of a paragraph as Sphinx extracts it (its lines joined), or None."""
    message = " ".join(line.strip() for line in lines)
    translated = translate(message)
    return translated if translated and translated != message else None


def _translate_chunk(chunk: str, translate: Translate) -> str | None:
    """A translated paragraph, title or simple bullet list; None when nothing changed."""
    lines = chunk.splitlines()
    first = lines[0]
    if first[:1].isspace() or first.startswith(".."):
        return None  # indented material, directives, labels, comments: as written
    if len(lines) == 2 and _UNDERLINE.fullmatch(lines[1].rstrip()):
        title = _translate_paragraph(lines[:1], translate)
        return title and f"{title}\n{lines[1][0] * column_width(title)}"
    if _BULLET.match(first):
        items: list[list[str]] = []
        for line in lines:
            if _BULLET.match(line):
                items.append([line[2:]])
            elif line[:1].isspace() and items:
                items[-1].append(line)
            else:
                return None  # not a simple list
        translated = [_translate_paragraph(item, translate) for item in items]
        if not any(translated):
            return None
        return "\n".join(
            f"{first[0]} {text or ' '.join(x.strip() for x in item)}"
            for item, text in zip(items, translated, strict=True)
        )
    if any(line[:1].isspace() for line in lines[1:]):
        return None  # definition lists and the like
    return _translate_paragraph(lines, translate)


def translate_rst(text: str, translate: Translate) -> tuple[str, int]:
    """Translate the paragraphs, list items and titles of a reST text; count what changed."""
    out, count = [], 0
    for chunk in _BLANK_LINE.split(text.strip("\n")):
        if chunk.strip():
            translated = _translate_chunk(chunk, translate)
            out.append(translated or chunk)
            count += translated is not None
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


# A Sphinx role in reST prose: :func:`pttour.fit`, :py:class:`~torch.nn.Module`, :doc:`/install`.
_ROLE = re.compile(r":(?:[a-z]+:)?(?P<role>[a-z]+):`(?P<content>[^`]+)`")
_TITLED = re.compile(r"(?P<title>.*?)\s*<(?P<target>[^<>]+)>", re.DOTALL)


def markdown_roles(text: str, link: Link | None = None) -> str:
    """Replace the Sphinx roles of a text by Markdown: code, or a link where ``link(role,
    target)`` gives a (title, URL); ``:math:`` is left for Sphinx-Gallery, which makes it $...$."""

    def replace(match: re.Match[str]) -> str:
        role, content = match["role"], match["content"].strip()
        if role == "math":
            return match[0]
        titled = _TITLED.fullmatch(content)
        title, target = (titled["title"], titled["target"]) if titled else (None, content)
        target = target.lstrip("!")
        short = target.startswith("~")
        target = target.lstrip("~")
        if role not in {"doc", "ref"}:  # an object: code, linked to its API entry
            shown = title or (target.rsplit(".", 1)[-1] if short else target)
            if role in {"func", "meth"} and not title and not shown.endswith(")"):
                shown += "()"
            url = link(role, target)[1] if link else None
            return f"[`{shown}`]({url})" if url else f"`{shown}`"
        text, url = link(role, target) if link else (title or target.strip("/"), None)
        return f"[{title or text}]({url})" if url else title or text

    return _ROLE.sub(replace, text)


# A marker of pttour_lessons: ``.. solution::`` or ``.. figure-caption::`` and its indented text.
_MARKER = re.compile(
    r"^\.\. (solution|figure-caption)::[ \t]*\n((?:[ \t]*\n|[ \t]+\S.*(?:\n|$))*)", re.MULTILINE
)
_CODE_BLOCK = re.compile(
    r"^\.\. code-block::[ \t]*\w*[ \t]*\n((?:[ \t]*\n|[ \t]+\S.*(?:\n|$))*)", re.MULTILINE
)


def plain_markers(text: str, translate: Translate = str) -> str:
    """Replace the lesson markers of a reST text by plain text: a solution's summary becomes a
    bold line, a figure's caption an italic one; paragraphs go through the catalog."""

    def replace(match: re.Match[str]) -> str:
        chunks = _BLANK_LINE.split(textwrap.dedent(match[2]).strip("\n"))
        paragraphs = [" ".join(chunk.split()) for chunk in chunks if chunk.strip()]
        paragraphs = [translate(paragraph) or paragraph for paragraph in paragraphs]
        mark = "**" if match[1] == "solution" else "*"
        return "\n\n".join([f"{mark}{paragraphs[0]}{mark}", *paragraphs[1:]]) + "\n\n"

    return _MARKER.sub(replace, text)


def tutorial_downloads(
    source: Path,
    gallery_conf: dict[str, Any],
    translate: Translate | None = None,
    link: Link | None = None,
) -> tuple[str, str, int]:
    """The script and the notebook of one tutorial, and how many texts ``translate`` changed.

    Without ``translate`` they are in the language of the source.
    """
    _, blocks = parser.split_code_and_text_blocks(str(source))
    out, count = [], 0
    for block in blocks:
        if block.type == "text":
            text = plain_markers(block.content, translate or str)
            if translate is not None:
                text, n = translate_rst(text, translate)
                count += n
                for code in _CODE_BLOCK.findall(text):  # the code of a code-block directive
                    new = translate_comments(textwrap.dedent(code), translate)
                    text = text.replace(code, textwrap.indent(new, "   "), 1)
            block = block._replace(content=text.strip("\n") + "\n")
        elif translate is not None:
            block = block._replace(content=translate_comments(block.content, translate))
        out.append(block)
    # What Sphinx-Gallery does before it makes a notebook: no ignored blocks, config comments.
    cells = [b._replace(content=parser.remove_ignore_blocks(b.content)) for b in out]
    if gallery_conf.get("remove_config_comments"):
        cells = [b._replace(content=parser.remove_config_comments(b.content)) for b in cells]
    if cells and cells[-1].content.isspace():
        cells = cells[:-1]
    # In Markdown, a text's roles become code or links, and reST's escaped space ("\ ", which
    # joins a word to markup and shows nothing) goes; Sphinx-Gallery converts the rest.
    cells = [
        b._replace(content=markdown_roles(re.sub(r"(?<!\\)\\ ", "", b.content), link))
        if b.type == "text"
        else b
        for b in cells
    ]
    notebook = jupyter_notebook(cells, gallery_conf, source.parent)
    return _script(out), json.dumps(notebook, indent=2), count


def _site_links(app: Sphinx, docname: str) -> Link:
    """Resolve a role's target to its title and its address on the public site (if known)."""
    env = app.env
    site = language_url(app.config.html_baseurl, site_language(app.config.language))

    def page(doc: str, anchor: str = "") -> str | None:
        return site and site + app.builder.get_target_uri(doc) + (f"#{anchor}" if anchor else "")

    def link(role: str, target: str) -> tuple[str, str | None]:
        if role == "doc":
            doc = target.lstrip("/") if target.startswith("/") else docname_join(docname, target)
            title = env.titles[doc].astext() if doc in env.titles else target
            return title, page(doc) if doc in env.all_docs else None
        if role == "ref":
            found = env.domaindata.get("std", {}).get("labels", {}).get(target.lower())
            return (found[2] or target, page(found[0], found[1])) if found else (target, None)
        found = env.domaindata.get("py", {}).get("objects", {}).get(target)
        return target, page(found[0], found[1]) if found else None

    return link


SUFFIXES = (".py", ".ipynb", ".zip")
_DOWNLOAD = re.compile(r"(plot_\w+|auto_tutorials_(?:python|jupyter))(\.py|\.ipynb|\.zip)")


def download_name(name: str, language: str) -> str:
    """The file name of a tutorial download in one site language: the Chinese site's carry the
    language (``plot_03_tensors_zh_CN.ipynb``), so that a reader who takes both keeps both."""
    language = site_language(language)
    match = _DOWNLOAD.fullmatch(name)
    if language == SOURCE_LANGUAGE or match is None or match[1].endswith(f"_{language}"):
        return name
    return f"{match[1]}_{language}{match[2]}"


def rename_downloads(app: Sphinx, env: Any) -> None:
    """On a translated build, give the tutorials' downloads the language's file names."""
    for source, (docnames, dest) in list(env.dlfiles.items()):
        new_name = download_name(dest.name, app.config.language)
        env.dlfiles[source] = (docnames, dest.with_name(new_name))


def rename_download_links(app: Sphinx, doctree: Any, docname: str) -> None:
    """Point a page's download links, and the file names they show, to the renamed files."""
    for node in doctree.findall(addnodes.download_reference):
        if "filename" not in node:
            continue
        old = Path(str(node["filename"])).name
        new = download_name(old, app.config.language)
        if new == old:
            continue
        node["filename"] = str(Path(str(node["filename"])).with_name(new))
        for text in list(node.findall(nodes.Text)):
            if old in text:
                text.parent.replace(text, nodes.Text(text.replace(old, new)))


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, mode="w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def rewrite_downloads(app: Sphinx, exception: Exception | None) -> None:
    """After an HTML build, rewrite every copy of the tutorials' downloads in the output."""
    downloads = Path(app.outdir, "_downloads")
    if exception is not None or app.builder.format != "html" or not downloads.is_dir():
        return
    language = site_language(app.config.language)
    translating = language != SOURCE_LANGUAGE
    gallery_conf = app.config.sphinx_gallery_conf
    if translating:  # the first cell in the page's language, linking its install page
        minimum = "{}.{}".format(*pttour.MIN_TORCH)
        cell = install_cell(app.config.pttour_site_url, app.config.release, minimum, language)
        gallery_conf = {**gallery_conf, "first_notebook_cell": cell}
    gallery_dir = Path(app.srcdir, gallery_conf["gallery_dirs"])
    localedir = Path(app.srcdir, app.config.locale_dirs[0])
    output: dict[str, bytes] = {}  # file name: contents
    scripts: dict[str, bytes] = {}
    notebooks: dict[str, bytes] = {}
    translated = 0
    for source in sorted(gallery_dir.glob("plot_*.py")):
        docname = f"{gallery_dir.name}/{source.stem}"
        catalog = gettext.translation(docname, localedir, [app.config.language], fallback=True)
        translate = catalog.gettext if translating else None
        link = _site_links(app, docname)
        script, notebook, count = tutorial_downloads(source, gallery_conf, translate, link)
        translated += count > 0
        py, ipynb, zipped = (download_name(source.stem + s, language) for s in SUFFIXES)
        scripts[py], notebooks[ipynb] = script.encode("utf-8"), notebook.encode("utf-8")
        files = {py: scripts[py], ipynb: notebooks[ipynb]}
        output |= {**files, zipped: _zip(files)}
    for kind, members in (("python", scripts), ("jupyter", notebooks)):
        output[download_name(f"{gallery_dir.name}_{kind}.zip", language)] = _zip(members)
    for path in downloads.rglob("*"):
        if path.name in output and path.read_bytes() != output[path.name]:
            path.write_bytes(output[path.name])
    if translating:
        logger.info("translated downloads: %d of %d tutorials", translated, len(scripts))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", rewrite_downloads)
    app.connect("env-updated", rename_downloads)
    app.connect("doctree-resolved", rename_download_links)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
