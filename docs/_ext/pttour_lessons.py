"""Two markers a tutorial's prose may use: a collapsed solution, and a figure's caption.

Sphinx-Gallery writes a code cell as its code block followed by its outputs (text, figures),
and has no way to fold them or to caption a figure. Each marker is a directive in the text
cell next to the code cell, so it is translated like the rest of the page:

``.. solution::`` ends the text cell right before a solution's code. Its first paragraph is
the summary a reader clicks (``Solution``); any further paragraphs introduce the solution.
The next code block and everything it showed (output, figures) move into one
``<details class="pttour-solution">``, closed until the reader opens it: no JavaScript.

``.. figure-caption::`` starts the text cell right after a code cell that drew a figure.
Its paragraph becomes the figure's caption and, as plain text, its alt text, so the words
about a figure live in the page, where the catalogs translate them, and never in the image.

The downloads replace both markers by plain text (``pttour_downloads.plain_markers``).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

OUTPUT_CLASSES = {
    "sphx-glr-script-out",
    "sphx-glr-single-img",
    "sphx-glr-horizontal",
    "pttour-figure",
}


class solution(nodes.General, nodes.Element):
    """A worked solution: a summary, then the code and its outputs, collapsed."""


class solution_summary(nodes.TextElement):
    """The line a reader clicks to open a solution."""


class figure_caption(nodes.General, nodes.Element):
    """Where a caption for the figure above was written; replaced by a captioned figure."""


class _MarkerDirective(SphinxDirective):
    has_content = True
    node_class: type[nodes.Element]

    def run(self) -> list[nodes.Node]:
        if not self.content:
            raise self.error(f"{self.name}: write its text as the directive's content")
        node = self.node_class()
        node.source, node.line = self.get_source_info()
        self.state.nested_parse(self.content, self.content_offset, node)
        if not isinstance(node.children[0], nodes.paragraph):
            raise self.error(f"{self.name}: its content must start with a paragraph")
        return [node]


class SolutionDirective(_MarkerDirective):
    node_class = solution


class FigureCaptionDirective(_MarkerDirective):
    node_class = figure_caption


def _is_output(node: nodes.Node) -> bool:
    """Whether ``node`` is something a code cell showed: printed text or a figure."""
    if not isinstance(node, nodes.Element):
        return False
    return bool(OUTPUT_CLASSES & set(node.get("classes", []))) or type(node).__name__ == (
        "imgsgnode"
    )


class FoldSolutions(SphinxTransform):
    """Move each solution's code block and outputs into it; caption the figures.

    Runs after the catalogs translated the page (``sphinx.transforms.i18n.Locale``, 20), so
    the summary and the caption are already in the page's language.
    """

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
        moved = [following[0]]
        moved += [n for n in _takewhile(_is_output, following[1:])]
        for child in moved:
            parent.remove(child)
        node.extend(moved)

    def _caption(self, node: figure_caption) -> None:
        parent = node.parent
        before = _uncommented(parent.children[: parent.index(node)])
        image = None
        for sibling in reversed(before):
            if type(sibling).__name__ == "imgsgnode":
                image = sibling
                break
            if not _is_output(sibling):
                break
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


def _takewhile(predicate: Any, items: list[nodes.Node]) -> list[nodes.Node]:
    taken = []
    for item in items:
        if not predicate(item):
            break
        taken.append(item)
    return taken


def _visit_solution(self: Any, node: solution) -> None:
    self.body.append(self.starttag(node, "details", CLASS="pttour-solution"))


def _depart_solution(self: Any, node: solution) -> None:
    self.body.append("</details>\n")


def _visit_summary(self: Any, node: solution_summary) -> None:
    self.body.append(self.starttag(node, "summary", ""))


def _depart_summary(self: Any, node: solution_summary) -> None:
    self.body.append("</summary>\n")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(solution, html=(_visit_solution, _depart_solution))
    app.add_node(solution_summary, html=(_visit_summary, _depart_summary))
    app.add_node(figure_caption)
    app.add_directive("solution", SolutionDirective)
    app.add_directive("figure-caption", FigureCaptionDirective)
    app.add_transform(FoldSolutions)
    app.add_post_transform(CaptionAltText)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
