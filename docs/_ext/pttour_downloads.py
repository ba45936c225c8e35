"""The tutorials' downloads: notebooks without Sphinx markup, and Chinese ones in Chinese.

Sphinx-Gallery makes the ``.py``, ``.ipynb`` and ``.zip`` downloads from the English sources, and
the Chinese build copies them as they are. After each HTML build this extension rewrites those
copies in the output. In both languages the lesson markers of ``pttour_lessons`` (a solution,
a figure's caption) become plain text (:func:`plain_markers`). On a translated build the prose
of each script (its docstring and ``# %%`` text cells) also goes through the page's catalog,
paragraph by paragraph and title by title, exactly as on the page. Code is left byte for byte
as it ran. Anything the catalog does not translate stays English, so a partial translation
still gives a correct script.

In both languages the notebooks are rewritten too: Jupyter shows Markdown, where a Sphinx role
such as ``:func:`pttour.fit``` is noise. Each role becomes code, or a link to its page on the
public site when ``html_baseurl`` is set (:func:`markdown_roles`).
"""

from __future__ import annotations

import gettext
import io
import json
import re
import textwrap
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pttour_comments import translate_comments
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


# A Sphinx role in reST prose: :func:`pttour.fit`, :py:class:`~torch.nn.Module`, :doc:`/install`.
_ROLE = re.compile(r":(?:[a-z]+:)?(?P<role>[a-z]+):`(?P<content>[^`]+)`")
_TITLED = re.compile(r"(?P<title>.*?)\s*<(?P<target>[^<>]+)>", re.DOTALL)
_CODE_ROLES = {"func", "meth", "class", "exc", "attr", "data", "obj", "mod", "const", "any"}
_CALLABLE_ROLES = {"func", "meth"}

Link = Callable[[str, str], "tuple[str, str | None]"]


def markdown_roles(text: str, link: Link | None = None) -> str:
    """Replace the Sphinx roles of a text by Markdown a notebook shows: code, or a link.

    ``link(role, target)`` gives the text and URL of a ``doc`` or ``ref`` target, or of an
    object (URL None when it has none). Without it, objects become code and pages their name.
    ``:math:`` is left for Sphinx-Gallery, which makes it ``$...$``.

    >>> print(markdown_roles("Call :func:`pttour.fit` or :class:`~torch.nn.Module`, see :doc:`/install`."))
    Call `pttour.fit()` or `Module`, see install.
    >>> urls = lambda role, target: ("Installation", "https://example.org/en/install.html")
    >>> print(markdown_roles(":doc:`/install`", urls))
    [Installation](https://example.org/en/install.html)
    """

    def replace(match: re.Match[str]) -> str:
        role, content = match["role"], match["content"].strip()
        if role == "math":
            return match[0]
        titled = _TITLED.fullmatch(content)
        title, target = (titled["title"], titled["target"]) if titled else (None, content)
        target = target.lstrip("!")
        short = target.startswith("~")
        target = target.lstrip("~")
        if role in _CODE_ROLES or role not in {"doc", "ref"}:
            shown = title or (target.rsplit(".", 1)[-1] if short else target)
            if role in _CALLABLE_ROLES and not title and not shown.endswith(")"):
                shown += "()"
            url = link(role, target)[1] if link else None
            return f"[`{shown}`]({url})" if url else f"`{shown}`"
        text, url = link(role, target) if link else (title or target.strip("/"), None)
        text = title or text
        return f"[{text}]({url})" if url else text

    return _ROLE.sub(replace, text)


def _clean_blocks(blocks: list[Any], gallery_conf: dict[str, Any]) -> list[Any]:
    """What Sphinx-Gallery removes before it makes a notebook: ignored blocks, config comments."""
    from sphinx_gallery import py_source_parser as parser

    blocks = [b._replace(content=parser.remove_ignore_blocks(b.content)) for b in blocks]
    if gallery_conf.get("remove_config_comments"):
        blocks = [b._replace(content=parser.remove_config_comments(b.content)) for b in blocks]
    if blocks and blocks[-1].content.isspace():
        blocks = blocks[:-1]
    return blocks


def _notebook(
    blocks: list[Any], gallery_conf: dict[str, Any], target_dir: Path, link: Link | None
) -> str:
    """The notebook of a tutorial's blocks, its text cells free of Sphinx roles."""
    from sphinx_gallery.notebook import jupyter_notebook

    blocks = [
        b._replace(content=markdown_roles(b.content, link)) if b.type == "text" else b
        for b in _clean_blocks(blocks, gallery_conf)
    ]
    return json.dumps(jupyter_notebook(blocks, gallery_conf, target_dir), indent=2)


# A marker of pttour_lessons: ``.. solution::`` or ``.. figure-caption::`` and its indented text.
_MARKER = re.compile(
    r"^\.\. (solution|figure-caption)::[ \t]*\n((?:[ \t]*\n|[ \t]+\S.*(?:\n|$))*)", re.MULTILINE
)


def plain_markers(text: str, translate: Callable[[str], str] = str) -> str:
    r"""Replace the lesson markers of a reST text by the plain text a download shows.

    A solution's summary becomes a bold line, a figure's caption an italic one; the paragraphs
    are looked up in the catalog as Sphinx extracts them.

    >>> print(plain_markers("Try it.\n\n.. solution::\n\n   Solution\n\n   First, the\n   shape.\n"))
    Try it.
    <BLANKLINE>
    **Solution**
    <BLANKLINE>
    First, the shape.
    <BLANKLINE>
    """

    def replace(match: re.Match[str]) -> str:
        chunks = re.split(r"\n[ \t]*\n", textwrap.dedent(match[2]).strip("\n"))
        paragraphs = [" ".join(chunk.split()) for chunk in chunks if chunk.strip()]
        paragraphs = [translate(paragraph) or paragraph for paragraph in paragraphs]
        mark = "**" if match[1] == "solution" else "*"
        return "\n\n".join([f"{mark}{paragraphs[0]}{mark}", *paragraphs[1:]]) + "\n\n"

    return _MARKER.sub(replace, text)


_CODE_BLOCK = re.compile(
    r"^\.\. code-block::[ \t]*(\w*)[ \t]*\n((?:[ \t]*\n|[ \t]+\S.*(?:\n|$))*)", re.MULTILINE
)


def markdown_text(text: str) -> str:
    r"""The reST of a text cell as Markdown shows it: fenced code for ``code-block``
    directives, and no escaped spaces (reST's ``\ `` joins a word to markup and shows nothing).

    >>> print(markdown_text(".. code-block:: python\n\n   x = 1\n   print(x)\n"))
    ```python
    x = 1
    print(x)
    ```
    <BLANKLINE>
    >>> print(markdown_text("``torch.Size``\\ （一个元组）"))
    ``torch.Size``（一个元组）
    """

    def replace(match: re.Match[str]) -> str:
        code = textwrap.dedent(match[2]).strip("\n")
        return f"```{match[1]}\n{code}\n```\n"

    return re.sub(r"(?<!\\)\\ ", "", _CODE_BLOCK.sub(replace, text))


def _indented(code: str) -> str:
    return "".join(f"   {line}" if line.strip() else line for line in code.splitlines(True))


def tutorial_downloads(
    source: Path,
    gallery_conf: dict[str, Any],
    translate: Callable[[str], str] | None = None,
    link: Link | None = None,
) -> tuple[str, str, int]:
    """The script and the notebook of one tutorial, and how many texts ``translate`` changed.

    Without ``translate`` they are in the language of the source. The lesson markers become
    plain text in both; code is left byte for byte as it ran.
    """
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    _, blocks = split_code_and_text_blocks(str(source))
    out, count = [], 0
    for block in blocks:
        if block.type == "text":
            text = plain_markers(block.content, translate or str)
            if translate is not None:
                text, n = translate_rst(text, translate)
                count += n
                text = _CODE_BLOCK.sub(
                    lambda m: m[0].replace(
                        m[2], _indented(translate_comments(textwrap.dedent(m[2]), translate))
                    ),
                    text,
                )
            block = block._replace(content=text.strip("\n") + "\n")
        elif translate is not None:
            block = block._replace(content=translate_comments(block.content, translate))
        out.append(block)
    notebook_blocks = [
        b._replace(content=markdown_text(b.content)) if b.type == "text" else b for b in out
    ]
    return _script(out), _notebook(notebook_blocks, gallery_conf, source.parent, link), count


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


def _site_links(app: Sphinx, docname: str) -> Link:
    """Resolve a role's target to its title and its address on the public site (if known)."""
    from pttour_site import language_url, site_language
    from sphinx.util import docname_join

    env = app.env
    site = language_url(app.config.html_baseurl, site_language(app.config.language))

    def page(doc: str, anchor: str = "") -> str | None:
        if site is None:
            return None
        return site + app.builder.get_target_uri(doc) + (f"#{anchor}" if anchor else "")

    def link(role: str, target: str) -> tuple[str, str | None]:
        if role == "doc":
            doc = (
                docname_join(docname, target.lstrip("/"))
                if not target.startswith("/")
                else target.lstrip("/")
            )
            title = env.titles[doc].astext() if doc in env.titles else target
            return title, page(doc) if doc in env.all_docs else None
        if role == "ref":
            found = env.domaindata.get("std", {}).get("labels", {}).get(target.lower())
            if found:
                doc, anchor, title = found
                return title or target, page(doc, anchor)
            return target, None
        found = env.domaindata.get("py", {}).get("objects", {}).get(target)
        if found:
            return target, page(found[0], found[1])
        return target, None

    return link


_DOWNLOAD = re.compile(r"(plot_\w+|auto_tutorials_(?:python|jupyter))(\.py|\.ipynb|\.zip)")


def download_name(name: str, language: str) -> str:
    """The file name of a tutorial download in one site language: the Chinese site's carry the
    language, so that a reader who takes both keeps both.

    >>> download_name("plot_03_tensors.ipynb", "zh_CN"), download_name("plot_03_tensors.py", "en")
    ('plot_03_tensors_zh_CN.ipynb', 'plot_03_tensors.py')
    """
    from pttour_site import SOURCE_LANGUAGE, site_language

    language = site_language(language)
    match = _DOWNLOAD.fullmatch(name)
    if language == SOURCE_LANGUAGE or match is None or match[1].endswith(f"_{language}"):
        return name
    return f"{match[1]}_{language}{match[2]}"


def rename_downloads(app: Sphinx, env: Any) -> None:
    """On a translated build, give the tutorials' downloads the language's file names."""
    for source, (docnames, dest) in list(env.dlfiles.items()):
        env.dlfiles[source] = (
            docnames,
            dest.with_name(download_name(dest.name, app.config.language)),
        )


def rename_download_links(app: Sphinx, doctree: Any, docname: str) -> None:
    """Point a page's download links, and the file names they show, to the renamed files."""
    from docutils import nodes
    from sphinx import addnodes

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


def rewrite_downloads(app: Sphinx, exception: Exception | None) -> None:
    """After an HTML build, write the tutorials' notebooks without Sphinx roles, and on a
    translated build replace the scripts and notebooks by translated ones."""
    from pttour_site import SOURCE_LANGUAGE, site_language

    if exception is not None or app.builder.format != "html":
        return
    language = site_language(app.config.language)
    translating = language != SOURCE_LANGUAGE
    gallery_conf = app.config.sphinx_gallery_conf
    if translating:  # the first cell in the page's language, linking its install page
        from pttour_install import install_cell

        import pttour

        cell = install_cell(
            app.config.pttour_site_url,
            app.config.release,
            "{}.{}".format(*pttour.MIN_TORCH),
            language,
        )
        gallery_conf = {**gallery_conf, "first_notebook_cell": cell}
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
    translated = 0
    for source in sorted(gallery_dir.glob("plot_*.py")):
        docname = f"{gallery_dir.name}/{source.stem}"
        link = _site_links(app, docname)
        translate = None
        if translating:
            translate = gettext.translation(
                docname, localedir=locale_dir, languages=[app.config.language], fallback=True
            ).gettext
        script, notebook_text, count = tutorial_downloads(source, gallery_conf, translate, link)
        py, ipynb = script.encode("utf-8"), notebook_text.encode("utf-8")
        translated += count > 0
        names = {
            suffix: download_name(source.stem + suffix, language)
            for suffix in (".py", ".ipynb", ".zip")
        }
        _write(copies.get(names[".py"], []), py)
        _write(copies.get(names[".ipynb"], []), ipynb)
        _write(
            copies.get(names[".zip"], []),
            _zip_bytes({names[".py"]: py, names[".ipynb"]: ipynb}),
        )
        all_py[names[".py"]] = py
        all_ipynb[names[".ipynb"]] = ipynb
    for kind, members in (("python", all_py), ("jupyter", all_ipynb)):
        name = download_name(f"{gallery_dir.name}_{kind}.zip", language)
        _write(copies.get(name, []), _zip_bytes(members))
    if translating:
        logger.info("translated downloads: %d of %d tutorials", translated, len(all_py))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", rewrite_downloads)
    app.connect("env-updated", rename_downloads)
    app.connect("doctree-resolved", rename_download_links)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
