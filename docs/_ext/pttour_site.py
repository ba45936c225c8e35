"""What differs between the English and the Chinese site, and the gallery settings they share.

- ``config-inited``: title, logo text, footer and search language follow ``language``, so one
  ``conf.py`` serves both builds (``-D language=zh_CN`` switches everything).
- ``html-page-context``: the navbar link to the same page in the other language.
- thumbnails: Sphinx-Gallery writes each thumbnail's title and tooltip as raw HTML, which gettext
  never sees; on a translated build they are refilled from the translated page.
- ``reset_matplotlib``: run by Sphinx-Gallery before each tutorial (small figures, modest DPI).
"""

from __future__ import annotations

import html
import re
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import docname_join

SOURCE_LANGUAGE = "en"
TRANSLATION_LANGUAGE = "zh_CN"

# What each language shows in the chrome of every page.
SITE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "pttour — PyTorch, the right way",
        "logo": "pttour · PyTorch, the right way",
        "footer": (
            "pttour, BSD-3-Clause. Every code sample on this site ran when the site was built; "
            "the outputs you read are real."
        ),
        "switch_label": "中文",
        "switch_title": "阅读本页的中文版",
        "collapse_sidebar": "Collapse Sidebar",
        "expand_sidebar": "Expand Sidebar",
    },
    "zh_CN": {
        "title": "pttour — 正确地使用 PyTorch",
        "logo": "pttour · 正确地使用 PyTorch",
        "footer": "pttour，BSD-3-Clause 许可。本站的每段代码都在构建网站时实际运行过，你看到的输出都是真实的。",
        "switch_label": "English",
        "switch_title": "Read this page in English",
        # the theme's own Chinese catalog has no entry for these two
        "collapse_sidebar": "收起侧边栏",
        "expand_sidebar": "展开侧边栏",
    },
}

# The largest figure a tutorial draws by default: 560 x 336 pixels.
FIGURE_SIZE_INCHES = (6.2, 3.7)
FIGURE_DPI = 90


def site_language(language: str | None) -> str:
    """The site (``en`` or ``zh_CN``) that a Sphinx ``language`` value belongs to."""
    return TRANSLATION_LANGUAGE if (language or "").lower().startswith("zh") else SOURCE_LANGUAGE


def other_language_url(pagename: str, other_language: str, suffix: str = ".html") -> str:
    """Relative URL from page ``pagename`` of one language to the same page of the other.

    Both sites sit side by side (``html/en/...``, ``html/zh_CN/...``), so the link climbs out
    of the page's folder and of its language folder, then goes down the same path:

    >>> other_language_url("index", "zh_CN")
    '../zh_CN/index.html'
    >>> other_language_url("auto_tutorials/plot_03_tensors", "en")
    '../../en/auto_tutorials/plot_03_tensors.html'
    """
    depth = pagename.count("/")
    return "../" * (depth + 1) + f"{other_language}/{pagename}{suffix}"


def set_language_specifics(app: Sphinx, config: Config) -> None:
    """Fill title, logo text, footer and search language from ``config.language``."""
    lang = site_language(config.language)
    text = SITE_TEXT[lang]
    config.html_title = text["title"]
    config.html_short_title = "pttour"
    options = dict(config.html_theme_options)
    options["logo"] = {**options.get("logo", {}), "text": text["logo"], "alt_text": text["title"]}
    config.html_theme_options = options
    config.html_context = {
        **config.html_context,
        "pttour_footer": text["footer"],
        "pttour_collapse_sidebar": text["collapse_sidebar"],
        "pttour_expand_sidebar": text["expand_sidebar"],
    }
    # Sphinx indexes Chinese words only with jieba installed; "zh" is the search language name.
    config.html_search_language = "zh" if lang == TRANSLATION_LANGUAGE else "en"


def add_language_switch(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Give every page's template the link to the same page in the other language."""
    lang = site_language(app.config.language)
    other = SOURCE_LANGUAGE if lang == TRANSLATION_LANGUAGE else TRANSLATION_LANGUAGE
    suffix = getattr(app.builder, "out_suffix", ".html")
    url = other_language_url(pagename, other, suffix)
    context["pttour_other_language"] = {
        "url": url,
        "label": SITE_TEXT[lang]["switch_label"],
        "title": SITE_TEXT[lang]["switch_title"],
        "hreflang": other.replace("_", "-"),
    }
    alternate = f'<link rel="alternate" hreflang="{other.replace("_", "-")}" href="{url}">\n'
    context["metatags"] = context.get("metatags", "") + alternate


# -- Sphinx-Gallery thumbnails on a translated build ------------------------------------------------

_BARE_DOC_LINK = re.compile(r":doc:`[^`<>]+`")


class SkipBareDocLinks(SphinxTransform):
    """Keep paragraphs that are only a bare ``:doc:`page``` link out of the catalogs.

    Sphinx-Gallery writes one per thumbnail; the link shows the target page's title, which is
    translated on that page, so such a paragraph has nothing to translate.
    """

    default_priority = 10  # before sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs: Any) -> None:
        for paragraph in self.document.findall(nodes.paragraph):
            if _BARE_DOC_LINK.fullmatch(paragraph.rawsource.strip()):
                paragraph["translatable"] = False


_TITLE_DIV = re.compile(r'(<div class="sphx-glr-thumbnail-title">)(.*?)(</div>)', re.DOTALL)
_TOOLTIP = re.compile(r'tooltip="[^"]*"')
_TOOLTIP_CHARS = 95  # as long as Sphinx-Gallery's own tooltips


def _intro_of(doctree: nodes.document) -> str:
    """The first paragraph of a page, as Sphinx-Gallery's tooltip shows it (plain, cut short)."""
    for paragraph in doctree.findall(nodes.paragraph):
        if isinstance(paragraph.parent, nodes.section | nodes.document):
            text = " ".join(paragraph.astext().split())
            if len(text) > _TOOLTIP_CHARS:
                text = text[: _TOOLTIP_CHARS - 1].rstrip() + "…"
            return text
    return ""


class LocalizeGalleryThumbnails(SphinxPostTransform):
    """Refill each thumbnail's title and tooltip from the (translated) page it points to.

    Runs before references are resolved, while the ``:doc:`` link of a thumbnail still says
    which page it points to.
    """

    default_priority = 5  # before sphinx.transforms.post_transforms.ReferencesResolver (10)
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        if site_language(self.config.language) == SOURCE_LANGUAGE:
            return
        container: nodes.raw | None = None
        docname: str | None = None
        for node in list(self.document.findall()):
            if isinstance(node, nodes.raw) and "sphx-glr-thumbcontainer" in node.astext():
                container, docname = node, None
            elif container is not None and isinstance(node, addnodes.pending_xref):
                if node.get("reftype") == "doc" and docname is None:
                    docname = self._docname(node)
            elif (
                container is not None
                and docname is not None
                and isinstance(node, nodes.raw)
                and "sphx-glr-thumbnail-title" in node.astext()
            ):
                self._refill(container, node, docname)
                container, docname = None, None

    def _docname(self, xref: addnodes.pending_xref) -> str | None:
        target = docname_join(xref["refdoc"], xref["reftarget"]) if xref.get("refdoc") else None
        return target if target in self.env.all_docs else None

    def _refill(self, container: nodes.raw, title_node: nodes.raw, docname: str) -> None:
        title = self.env.titles[docname].astext()
        intro = _intro_of(self.env.get_doctree(docname))
        tooltip = f'tooltip="{html.escape(intro, quote=True)}"'
        _replace_raw(container, _TOOLTIP.sub(lambda _: tooltip, container.astext(), count=1))
        escaped = html.escape(title, quote=False)
        _replace_raw(
            title_node, _TITLE_DIV.sub(lambda m: m[1] + escaped + m[3], title_node.astext())
        )


def _replace_raw(node: nodes.raw, text: str) -> None:
    node.children[:] = [nodes.Text(text)]
    node.rawsource = text


# -- Sphinx-Gallery: before each tutorial runs ------------------------------------------------------


def reset_matplotlib(gallery_conf: dict[str, Any], fname: str | None) -> None:
    """Reset matplotlib between tutorials and make the figures small and light.

    Sphinx-Gallery calls this (``reset_modules``) before each script; it replaces the default
    reset, which would undo any rcParams set once in ``conf.py``.
    """
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    plt.rcdefaults()
    plt.rcParams.update(
        {
            "figure.figsize": FIGURE_SIZE_INCHES,
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": FIGURE_DPI,
            "figure.constrained_layout.use": True,
        }
    )


def _chinese_search_language() -> type:
    """Sphinx's Chinese search, with the JavaScript stemmer it really ships named correctly.

    Sphinx 9.0 writes ``window.Stemmer = ChineseStemmer`` into ``language_data.js`` while the
    file defines only ``EnglishStemmer`` (Chinese words are split by jieba at build time; Latin
    words use the English stemmer), so every Chinese page threw a ReferenceError and search
    never finished (sphinx-doc/sphinx#14229). ``language_name`` feeds only that line and a log
    label.
    """
    from sphinx.search.zh import SearchChinese

    class SearchChineseWithEnglishStemmer(SearchChinese):
        language_name = "English"

    return SearchChineseWithEnglishStemmer


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_search_language(_chinese_search_language())
    app.connect("config-inited", set_language_specifics)
    app.connect("html-page-context", add_language_switch)
    app.add_transform(SkipBareDocLinks)
    app.add_post_transform(LocalizeGalleryThumbnails)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
