"""Comments in the tutorials' code are part of the lesson: the catalogs translate them too.

Each comment of a code block becomes one catalog message: consecutive full-line comments at
one indentation form one message (their lines joined by spaces), a comment after code is one
message of its own. Left out: labels without a word (``# a``), tool markers (``noqa``, ``type:``, ``fmt:``, ``pragma``,
``sphinx_gallery_...``) and commented-out code. A translated build puts each translation back
in place before the code is highlighted, rewrapped to the tutorials' 79 columns (a CJK
character takes two); the code itself, every token but the comments, stays as it ran. The
downloads use :func:`translate_comments` on the same code.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import unicodedata
from collections.abc import Callable
from typing import Any, NamedTuple

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform

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
    """Whether a comment's text is commented-out code rather than words."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    return bool(tree.body) and not (
        len(tree.body) == 1
        and isinstance(tree.body[0], ast.Expr)
        and isinstance(tree.body[0].value, ast.Name | ast.Constant)
    )


def comments(code: str) -> list[Comment]:
    """The translatable comments of ``code``, in order.

    >>> code = "x = 1  # one\\n# two\\n# lines\\n# y = x + 1\\nz = 2  # noqa: E501\\n"
    >>> [c.text for c in comments(code)]
    ['one', 'two lines']
    """
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


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


_UNIT = re.compile(r"``.*?``|[\x21-\x7e]+|\s+|.", re.DOTALL)
_NO_LINE_START = set("，。、；：！？）》」』】,.;:!?)")
_NO_LINE_END = set("（《「『【")


def wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` (CJK characters count two); never splits a
    word, a literal or a closing punctuation mark from what it closes.

    >>> wrap("张量的形状（shape）是一个元组。", 12)
    ['张量的形状', '（shape）是', '一个元组。']
    """
    lines, line = [], ""
    for unit in _UNIT.findall(text):
        if line and width(line + unit.rstrip()) > columns and unit[0] not in _NO_LINE_START:
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
        if block.get("language", "").lower() in {"python", "python3", "py"}
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
    app.add_node(code_comments)
    app.add_transform(CollectComments)
    app.add_transform(TranslateComments)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
