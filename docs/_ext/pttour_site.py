"""What differs between the English and the Chinese site, and the gallery settings they share.

- ``config-inited``: title, logo text, footer, search language and the site's public address
  (Open Graph, sitemap, from ``html_baseurl``) follow ``language``, so one ``conf.py``
  serves both builds (``-D language=zh_CN`` switches everything).
- ``html-page-context``: the navbar link to the same page in the other language (the reader's
  section and search query go along: ``_static/pttour.js``), and the canonical address with the
  language folder in it. The 404 page loads its styles and links from wherever it is shown.
- ``build-finished``: the site root's pages (``docs/site_root``: language chooser, 404 page)
  beside the language folders.
- thumbnails: Sphinx-Gallery writes each thumbnail's title and tooltip as raw HTML, which gettext
  never sees, and cuts the tooltip mid-sentence; both are refilled from the page they point to,
  in its language, as whole sentences.
- ``reset_matplotlib``: run by Sphinx-Gallery before each tutorial (small figures, modest DPI).
"""

from __future__ import annotations

import html
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import docname_join, logging

logger = logging.getLogger(__name__)

SOURCE_LANGUAGE = "en"
TRANSLATION_LANGUAGE = "zh_CN"
NOT_FOUND_PAGE = "404"  # docs/404.md, shown for any missing address of one language's site
SITE_ROOT = "site_root"  # under docs/: the pages beside the language folders

# What each language shows in the chrome of every page.
SITE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "pttour — PyTorch, the right way",
        "tagline": "PyTorch, the right way",
        "footer": (
            "pttour, BSD-3-Clause. Every code sample on this site ran when the site was built; "
            "the outputs you read are real."
        ),
        "switch_label": "中文",
        "switch_title": "阅读本页的中文版",
        "collapse_sidebar": "Collapse Sidebar",
        "expand_sidebar": "Expand Sidebar",
        "search_bar_text": "Search the docs …",
        # {seconds}: Sphinx-Gallery's measurement, shown on the page only (never in a catalog)
        "run_time": "The code on this page ran in {seconds} s when the site was built.",
        "og_locale": "en_US",
        # the links at the top of a tutorial (docs/_ext/pttour_actions.py)
        "action_py": "Download Python source code (.py)",
        "action_ipynb": "Download Jupyter notebook (.ipynb)",
        "action_colab": "Run in Google Colab",
        "action_source": "View source on GitHub",
        "action_report": "Report a problem with this page",
        "report_title": "Problem on the page “{title}”",
        "report_body": "Page: {address}\n\nWhat is wrong, and where on the page:\n",
    },
    "zh_CN": {
        "title": "pttour — 正确地使用 PyTorch",
        "tagline": "正确地使用 PyTorch",
        "footer": "pttour，BSD-3-Clause 许可。本站的每段代码都在构建网站时实际运行过，你看到的输出都是真实的。",
        "switch_label": "English",
        "switch_title": "Read this page in English",
        # the theme's own Chinese catalog has no entry for these two
        "collapse_sidebar": "收起侧边栏",
        "expand_sidebar": "展开侧边栏",
        "search_bar_text": "搜索文档…",
        "run_time": "构建网站时，本页代码运行用时 {seconds} 秒。",
        "og_locale": "zh_CN",
        "action_py": "下载 Python 源代码（.py）",
        "action_ipynb": "下载 Jupyter notebook（.ipynb）",
        "action_colab": "在 Google Colab 中运行",
        "action_source": "在 GitHub 上查看源代码",
        "action_report": "报告本页的问题",
        "report_title": "页面问题：“{title}”",
        "report_body": "页面：{address}\n\n哪里有问题，在页面的什么位置：\n",
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


def language_url(baseurl: str | None, language: str) -> str | None:
    """The public address of one language's site, from ``html_baseurl`` (None when unset).

    ``html_baseurl`` is the address of the site root, the folder that holds the language
    chooser, ``en/`` and ``zh_CN/``; an address that already ends in the language is kept.

    >>> language_url("https://example.org/pttour/", "zh_CN")
    'https://example.org/pttour/zh_CN/'
    >>> language_url("https://example.org/pttour/en", "en")
    'https://example.org/pttour/en/'
    >>> language_url("", "en") is None
    True
    """
    if not baseurl:
        return None
    root = baseurl.rstrip("/") + "/"
    return root if root.endswith(f"/{language}/") else f"{root}{language}/"


def set_language_specifics(app: Sphinx, config: Config) -> None:
    """Fill title, logo text, footer, search language and site addresses from the language."""
    lang = site_language(config.language)
    text = SITE_TEXT[lang]
    config.html_title = text["title"]
    config.html_short_title = "pttour"
    options = dict(config.html_theme_options)
    options["logo"] = {**options.get("logo", {}), "text": "pttour", "alt_text": text["title"]}
    options["search_bar_text"] = text["search_bar_text"]
    config.html_theme_options = options
    config.html_context = {
        **config.html_context,
        "pttour_footer": text["footer"],
        "pttour_logo": {"name": "pttour", "tagline": text["tagline"]},
        "pttour_collapse_sidebar": text["collapse_sidebar"],
        "pttour_expand_sidebar": text["expand_sidebar"],
    }
    # Sphinx indexes Chinese words only with jieba installed; "zh" is the search language name.
    config.html_search_language = "zh" if lang == TRANSLATION_LANGUAGE else "en"
    # Open Graph and the sitemap need this language's public address.
    site = language_url(config.html_baseurl, lang)
    config.ogp_site_url = site or ""
    config.ogp_custom_meta_tags = (f'<meta property="og:locale" content="{text["og_locale"]}">',)
    config.sitemap_excludes = ["404.html", "search.html", "genindex.html", "py-modindex.html"]
    if site is None:
        # sphinx-sitemap needs absolute addresses; without html_baseurl it writes no sitemap
        config.suppress_warnings = [*config.suppress_warnings, "sitemap.configuration"]
        logger.info("pttour: html_baseurl is not set: no sitemap, relative Open Graph URLs")


def add_language_switch(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Give every page's template the link to the same page in the other language."""
    lang = site_language(app.config.language)
    other = SOURCE_LANGUAGE if lang == TRANSLATION_LANGUAGE else TRANSLATION_LANGUAGE
    suffix = getattr(app.builder, "out_suffix", ".html")
    url = other_language_url(pagename, other, suffix)
    if pagename == NOT_FOUND_PAGE:
        url = other_language_url(app.config.root_doc, other, suffix)  # the other home page
        site = language_url(app.config.html_baseurl, lang)
        context["metatags"] = context.get("metatags", "") + not_found_base(
            lang, urlsplit(site).path if site else f"/{lang}/"
        )
    context["pttour_other_language"] = {
        "url": url,
        "label": SITE_TEXT[lang]["switch_label"],
        "title": SITE_TEXT[lang]["switch_title"],
        "hreflang": other.replace("_", "-"),
    }
    alternate = f'<link rel="alternate" hreflang="{other.replace("_", "-")}" href="{url}">\n'
    context["metatags"] = context.get("metatags", "") + alternate
    # Sphinx's canonical address is html_baseurl + page, without the language folder.
    site = language_url(app.config.html_baseurl, lang)
    if site and context.get("pageurl"):
        context["pageurl"] = site + app.builder.get_target_uri(pagename)


def not_found_base(lang: str, published: str) -> str:
    """The script that lets a language's 404 page load its styles and links from anywhere.

    A server shows the page at whatever address was missing, at any depth, so its relative
    links would point nowhere. Before any of them loads (``metatags`` come first in the page's
    head), this script sets the page's ``<base>`` to the language folder in the address
    (``.../en/``), or ``published`` when the address has none; links to a place in the page
    itself (``#...``) are made to stay on it.
    """
    script = f"""(function () {{
  var folder = location.pathname.match(/^.*?\\/{lang}\\//);
  var base = document.createElement("base");
  base.href = folder ? folder[0] : "{published}";
  document.head.appendChild(base);
  document.addEventListener("DOMContentLoaded", function () {{
    document.querySelectorAll('a[href^="#"]').forEach(function (link) {{
      link.href = location.href.split("#")[0] + link.getAttribute("href");
    }});
  }});
}})();"""
    return f"<script>{script}</script>\n"


def write_site_root(app: Sphinx, exception: Exception | None) -> None:
    """Write the site root's pages (``docs/site_root``) beside the language folders.

    They are the language chooser and the 404 page that GitHub Pages serves for any missing
    address of the site. Only when this build writes one language folder of the bilingual site
    (``html/en``, ``html/zh_CN``), as ``nox -s docs`` does.
    """
    outdir = Path(app.outdir)
    if exception is not None or app.builder.format != "html":
        return
    if outdir.name != site_language(app.config.language):
        return
    for source in sorted(Path(app.srcdir, SITE_ROOT).iterdir()):
        shutil.copyfile(source, outdir.parent / source.name)


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
# A sentence ends at . ! ? followed by a space, or at a Chinese full stop, ! or ?.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
HOVER_TEXT_COLUMNS = 170  # what a card shows in full: about six lines of a 200 px card


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def hover_text(paragraph: str, columns: int = HOVER_TEXT_COLUMNS) -> str:
    """The whole sentences of ``paragraph`` that fit on a card: at least the first one.

    A sentence that ends in a colon introduces what follows it, so it is never the last one.

    >>> hover_text("One idea per page. It runs fast. After reading it you will be able to:")
    'One idea per page. It runs fast.'
    >>> hover_text("张量是多维数组。它可以在 GPU 上运行。", columns=20)
    '张量是多维数组。'
    """
    sentences = [s for s in _SENTENCE_END.split(" ".join(paragraph.split())) if s]
    chosen = sentences[:1]
    for sentence in sentences[1:]:
        if sentence.endswith((":", "：")) or _columns(" ".join([*chosen, sentence])) > columns:
            break
        chosen.append(sentence)
    joiner = "" if chosen and chosen[0].endswith(("。", "！", "？")) else " "
    return joiner.join(chosen)


def _intro_of(doctree: nodes.document) -> str:
    """The card's hover text: whole sentences of the page's first paragraph."""
    for paragraph in doctree.findall(nodes.paragraph):
        if isinstance(paragraph.parent, nodes.section | nodes.document):
            return hover_text(paragraph.astext())
    return ""


class LocalizeGalleryThumbnails(SphinxPostTransform):
    """Refill each card's title and hover text from the (translated) page it points to.

    Sphinx-Gallery cuts its hover text after 95 characters, mid-sentence, and in English only;
    this one is whole sentences in the page's language (:func:`hover_text`). Runs before
    references are resolved, while the ``:doc:`` link of a card still says which page it
    points to.
    """

    default_priority = 5  # before sphinx.transforms.post_transforms.ReferencesResolver (10)
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
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


# -- The sitemap after an incremental build ----------------------------------------------------------


def _note_written_page(app: Sphinx, pagename: str, *args: Any) -> None:
    app.pttour_written_pages.add(pagename)


def complete_sitemap(app: Sphinx, exception: Exception | None) -> None:
    """Give sphinx-sitemap the pages this build did not rewrite, before it writes sitemap.xml.

    sphinx-sitemap lists the pages it sees written (``html-page-context``); after a rebuild that
    rewrote only a changed page, the sitemap would list that page alone. Runs at
    ``build-finished`` ahead of sphinx-sitemap's own handler.
    """
    if exception is not None or not hasattr(app.env.app, "sitemap_links"):
        return
    from sphinx_sitemap import add_html_link

    for docname in sorted(app.env.found_docs - app.pttour_written_pages):
        add_html_link(app, docname, None, None, None)


def setup(app: Sphinx) -> dict[str, Any]:
    app.pttour_written_pages = set()
    app.connect("html-page-context", _note_written_page)
    app.connect("build-finished", complete_sitemap, priority=400)
    app.add_search_language(_chinese_search_language())
    app.connect("config-inited", set_language_specifics)
    app.connect("html-page-context", add_language_switch)
    app.connect("build-finished", write_site_root)
    app.add_transform(SkipBareDocLinks)
    app.add_post_transform(LocalizeGalleryThumbnails)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
