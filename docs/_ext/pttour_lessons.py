"""What a tutorial's prose and code become on its page: solutions, captions, Chinese comments.

``.. solution::`` ends the text cell before a solution's code: its first paragraph is the summary
a reader clicks, and the code with what it showed folds into ``<details>``. ``.. figure-caption::``
starts the text cell after a figure: its paragraph becomes the caption and the alt text. Each
comment of a Python code block is a catalog message too (full-line comments in a row form one;
words only, no tool markers or commented-out code); a translated build puts each translation in
its place, rewrapped to 79 columns. The downloads get the same (``pttour_downloads``).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable
from itertools import takewhile
from typing import Any, NamedTuple

from docutils import nodes
from docutils.utils import column_width
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

# What a code cell shows: printed text, one figure, several figures; or a figure captioned here
_GALLERY_OUTPUTS = {"sphx-glr-script-out", "sphx-glr-single-img", "sphx-glr-horizontal"}
OUTPUT_CLASSES = {*_GALLERY_OUTPUTS, "pttour-figure"}


class solution(nodes.General, nodes.Element):
    """A worked solution: a summary, then the code and its outputs, collapsed."""


class solution_summary(nodes.TextElement):
    """The line a reader clicks to open a solution."""


class figure_caption(nodes.General, nodes.Element):
    """Where a caption for the figure above was written; replaced by a captioned figure."""


MARKERS = {"solution": solution, "figure-caption": figure_caption}


class MarkerDirective(SphinxDirective):
    """``.. solution::`` or ``.. figure-caption::``: a paragraph, then whatever follows it."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        if not self.content:
            raise self.error(f"{self.name}: write its text as the directive's content")
        node = MARKERS[self.name]()
        node.source, node.line = self.get_source_info()
        self.state.nested_parse(self.content, self.content_offset, node)
        if not isinstance(node.children[0], nodes.paragraph):
            raise self.error(f"{self.name}: its content must start with a paragraph")
        return [node]


def _is_image(node: nodes.Node) -> bool:
    return type(node).__name__ == "imgsgnode"  # Sphinx-Gallery's figure


def _is_output(node: nodes.Node) -> bool:
    """Whether ``node`` is something a code cell showed: printed text or a figure."""
    if not isinstance(node, nodes.Element):
        return False
    return bool(OUTPUT_CLASSES & set(node.get("classes", []))) or _is_image(node)


class FoldSolutions(SphinxTransform):
    """Move each solution's code block and outputs into it; caption the figures. Runs after
    the catalogs translated the page (``sphinx.transforms.i18n.Locale``, 20)."""

    default_priority = 25

    def apply(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(figure_caption)):
            self._caption(node)
        for node in list(self.document.findall(solution)):
            self._fold(node)

    def _fold(self, node: solution) -> None:
        first = node.children[0]
        node.replace(first, _like(first, solution_summary(first.rawsource, "", *first.children)))
        parent = node.parent
        following = _uncommented(parent.children[parent.index(node) + 1 :])
        if not following or not isinstance(following[0], nodes.literal_block):
            logger.warning(
                "a solution marker is not followed by a code cell", location=node, type="pttour"
            )
            return
        moved = [following[0], *takewhile(_is_output, following[1:])]
        for child in moved:
            parent.remove(child)
        node.extend(moved)

    def _caption(self, node: figure_caption) -> None:
        parent = node.parent
        before = reversed(_uncommented(parent.children[: parent.index(node)]))
        image = next(filter(_is_image, takewhile(_is_output, before)), None)
        if image is None:
            # Without a run of the gallery (plot_gallery=0 on a changed or new page, as the
            # gettext build does) no code drew a figure: keep the caption as text, so the
            # catalogs still get it. After a run, a caption without a figure is a mistake.
            if self.config.sphinx_gallery_conf.get("plot_gallery", True):
                logger.warning(
                    "a figure caption follows no figure: put it first in the text cell after "
                    "the code that draws it",
                    location=node,
                    type="pttour",
                )
            parent.replace(node, node.children)
            return
        paragraph = node.children[0]
        caption = _like(paragraph, nodes.caption(paragraph.rawsource, "", *paragraph.children))
        figure = nodes.figure("", classes=["pttour-figure"])
        parent.replace(image, figure)
        figure += [image, caption, *node.children[1:]]
        parent.remove(node)


class CaptionAltText(SphinxPostTransform):
    """A captioned figure's alt text is its caption as the page shows it (after smart quotes)."""

    default_priority = 5

    def run(self, **kwargs: Any) -> None:
        for figure in self.document.findall(nodes.figure):
            if "pttour-figure" in figure["classes"]:
                caption = next(figure.findall(nodes.caption))
                figure.children[0]["alt"] = " ".join(caption.astext().split())


def _like(old: nodes.Element, new: nodes.TextElement) -> nodes.TextElement:
    """``new`` where ``old`` was written: the gettext builder extracts only such text."""
    new.source, new.line = old.source, old.line
    return new


def _uncommented(siblings: list[nodes.Node]) -> list[nodes.Node]:
    """Siblings without the comments Sphinx-Gallery writes between cells."""
    return [node for node in siblings if not isinstance(node, nodes.comment)]


def _html(tag: str, suffix: str, **attributes: str) -> tuple[Any, Any]:
    """How the HTML writer visits and departs a node that it writes as ``<tag>``."""
    return (
        lambda self, node: self.body.append(self.starttag(node, tag, suffix, **attributes)),
        lambda self, node: self.body.append(f"</{tag}>\n"),
    )


# -- comments in the code ----------------------------------------------------------------------

COLUMNS = 79
_WORD = re.compile(r"[^\W\d_]{2,}")  # a label such as "a" or "(1)" has nothing to translate
_MARKER = re.compile(r"(noqa|type:|fmt:|pragma|sphinx_gallery_|%%)", re.IGNORECASE)


class Comment(NamedTuple):
    first: int  # first and last line, 1-based
    last: int
    column: int  # where ``#`` is
    inline: bool  # after code on its line
    text: str  # the message: the lines' text without ``#``, joined by spaces


def _is_code(text: str) -> bool:
    """Whether a comment's text is commented-out code rather than words: not a word, a number,
    a label (``wrong: 3 * x`` parses as an annotation) or ``shape (4, 1)`` (a space before
    ``(``, as no one writes a call)."""
    try:
        body = ast.parse(text).body
    except SyntaxError:
        return False
    words = len(body) == 1 and (
        (isinstance(body[0], ast.AnnAssign) and body[0].value is None)
        or (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Name | ast.Constant))
    )  # fmt: skip
    return bool(body) and not words and not re.search(r"\w \(", text)


def comments(code: str) -> list[Comment]:
    """The translatable comments of ``code``, in order."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    found: list[Comment] = []
    previous = None
    for token in tokens:
        if token.type != tokenize.COMMENT:
            if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT):
                previous = token
            continue
        text = token.string.lstrip("#").strip()
        row, column = token.start
        inline = previous is not None and previous.end[0] == row
        if not _WORD.search(text) or _MARKER.match(text) or _is_code(text):
            found.append(Comment(row, row, column, inline, ""))  # a break in a run of lines
            continue
        last = found[-1] if found else None
        if (
            last is not None and last.text and not inline and not last.inline
            and last.last == row - 1 and last.column == column
        ):  # fmt: skip
            found[-1] = last._replace(last=row, text=f"{last.text} {text}")
        else:
            found.append(Comment(row, row, column, inline, text))
    return [comment for comment in found if comment.text]


_UNIT = re.compile(r"``.*?``|[\x21-\x7e]+|\s+|.", re.DOTALL)
_NO_LINE_START = set("，。、；：！？）》」』】,.;:!?)")
_NO_LINE_END = set("（《「『【")


def wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` (CJK characters count two); never splits a
    word, a literal or a closing punctuation mark from what it closes."""
    lines, line = [], ""
    for unit in _UNIT.findall(text):
        if line and column_width(line + unit.rstrip()) > columns and unit[0] not in _NO_LINE_START:
            carried = line[-1] if line[-1] in _NO_LINE_END else ""
            lines.append(line.removesuffix(carried).rstrip())
            line = carried + unit.lstrip()
        else:
            line += unit
    return [*lines, line.rstrip()] if line.strip() else lines


def translate_comments(code: str, translate: Callable[[str], str]) -> str:
    """``code`` with each comment that ``translate`` changes replaced by its translation."""
    lines = code.split("\n")
    for comment in reversed(comments(code)):
        translated = translate(comment.text)
        if not translated or translated == comment.text:
            continue
        first = lines[comment.first - 1]
        if comment.inline:
            lines[comment.first - 1] = f"{first[: comment.column]}# {translated}"
            continue
        indent = first[: comment.column]
        wrapped = wrap(translated, COLUMNS - len(indent) - 2)
        lines[comment.first - 1 : comment.last] = [f"{indent}# {line}" for line in wrapped]
    return "\n".join(lines)


class code_comments(nodes.Element, addnodes.translatable):
    """The comments of a page's code blocks, as catalog messages (never rendered)."""

    def preserve_original_messages(self) -> None:
        pass

    def extract_original_messages(self) -> list[str]:
        return list(self["messages"])

    def apply_translated_message(self, original: str, translated: str) -> None:
        self["translations"][original] = translated


def _code_blocks(document: nodes.document) -> list[nodes.literal_block]:
    return [
        block
        for block in document.findall(nodes.literal_block)
        if block.get("language", "").lower() in {"python", "python3", "py", "bash"}
    ]


class CollectComments(SphinxTransform):
    """Before the catalogs apply (Locale, 20): one hidden node with the page's comments."""

    default_priority = 15

    def apply(self, **kwargs: Any) -> None:
        messages = {c.text: None for b in _code_blocks(self.document) for c in comments(b.astext())}
        if messages:
            node = code_comments(messages=list(messages), translations={})
            node.source, node.line = self.document["source"], 1
            self.document += node


class TranslateComments(SphinxTransform):
    """After the catalogs applied: translated comments into the code, then drop the node
    (the gettext builder keeps it: it reads the messages from it)."""

    default_priority = 22

    def apply(self, **kwargs: Any) -> None:
        for holder in list(self.document.findall(code_comments)):
            translate = {m: m for m in holder["messages"]} | holder["translations"]
            if holder["translations"]:
                for block in _code_blocks(self.document):
                    code = translate_comments(block.astext(), translate.__getitem__)
                    if code != block.astext():
                        block.rawsource = code  # Sphinx highlights rawsource: keep both equal
                        block.children[:] = [nodes.Text(code)]
            if self.app.builder.name != "gettext":
                holder.parent.remove(holder)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(solution, html=_html("details", "\n", CLASS="pttour-solution"))
    app.add_node(solution_summary, html=_html("summary", ""))
    app.add_node(figure_caption)
    app.add_node(code_comments)
    for name in MARKERS:
        app.add_directive(name, MarkerDirective)
    app.add_transform(CollectComments)
    app.add_transform(TranslateComments)
    app.add_transform(FoldSolutions)
    app.add_post_transform(CaptionAltText)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
