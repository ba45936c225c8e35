"""What differs between the English and the Chinese site, so that one ``conf.py`` builds both.

``language`` sets the chrome's text, the search language, the public addresses and the switcher to
the same page in the other language, and the gallery's cards take their texts from the translated
pages. Also: a 404 page for any address, the site root's pages, complete sitemaps, matplotlib reset.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from docutils import nodes
from docutils.utils import column_width
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.search.zh import SearchChinese
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import docname_join, logging

logger = logging.getLogger(__name__)

SOURCE_LANGUAGE = "en"
TRANSLATION_LANGUAGE = "zh_CN"
NOT_FOUND_PAGE = "404"  # docs/404.md, shown for any missing address of one language's site

# What each language shows in the chrome of every page: (English, Chinese).
_TEXT = {
    "title": ("pttour — PyTorch, the right way", "pttour — 正确地使用 PyTorch"),
    "tagline": ("PyTorch, the right way", "正确地使用 PyTorch"),
    "footer": (
        (
            "pttour, BSD-3-Clause. Every code sample on this site ran when the site was built; "
            "the outputs you read are real."
        ),
        "pttour，BSD-3-Clause 许可。本站的每段代码都在构建网站时实际运行过，你看到的输出都是真实的。",
    ),
    "switch_label": ("中文", "English"),
    "switch_title": ("阅读本页的中文版", "Read this page in English"),
    # the theme's own Chinese catalog has no entry for these two
    "collapse_sidebar": ("Collapse Sidebar", "收起侧边栏"),
    "expand_sidebar": ("Expand Sidebar", "展开侧边栏"),
    "search_bar_text": ("Search the docs …", "搜索文档…"),
    # {seconds}: Sphinx-Gallery's measurement, shown on the page only (never in a catalog)
    "run_time": (
        "The code on this page ran in {seconds} s when the site was built.",
        "构建网站时，本页代码运行用时 {seconds} 秒。",
    ),
    "og_locale": ("en_US", "zh_CN"),
    # the links at the top of a tutorial (docs/_ext/pttour_gallery.py)
    "action_py": ("Download Python source code (.py)", "下载 Python 源代码（.py）"),
    "action_ipynb": ("Download Jupyter notebook (.ipynb)", "下载 Jupyter notebook（.ipynb）"),
    "action_colab": ("Run in Google Colab", "在 Google Colab 中运行"),
    "action_source": ("View source on GitHub", "在 GitHub 上查看源代码"),
    "action_report": ("Report a problem with this page", "报告本页的问题"),
    "report_title": ("Problem on the page “{title}”", "页面问题：“{title}”"),
    "report_body": (
        "Page: {address}\n\nWhat is wrong, and where on the page:\n",
        "页面：{address}\n\n哪里有问题，在页面的什么位置：\n",
    ),
}
SITE_TEXT = {
    language: {key: texts[i] for key, texts in _TEXT.items()}
    for i, language in enumerate((SOURCE_LANGUAGE, TRANSLATION_LANGUAGE))
}


def site_language(language: str | None) -> str:
    """The site (``en`` or ``zh_CN``) that a Sphinx ``language`` value belongs to."""
    return TRANSLATION_LANGUAGE if (language or "").lower().startswith("zh") else SOURCE_LANGUAGE


def other_language_url(pagename: str, other_language: str, suffix: str = ".html") -> str:
    """Relative URL from page ``pagename`` to the same page of the other language's folder."""
    return "../" * (pagename.count("/") + 1) + f"{other_language}/{pagename}{suffix}"


def language_url(baseurl: str | None, language: str) -> str | None:
    """The public address of one language's site: ``html_baseurl`` (the site root, which holds
    ``en/`` and ``zh_CN/``) and the language folder; None when ``html_baseurl`` is unset."""
    return f"{baseurl.rstrip('/')}/{language}/" if baseurl else None


def set_language_specifics(app: Sphinx, config: Config) -> None:
    """Fill title, logo text, footer, search language and site addresses from the language."""
    lang = site_language(config.language)
    text = SITE_TEXT[lang]
    config.html_title = text["title"]
    options = dict(config.html_theme_options)
    options["logo"] = {**options.get("logo", {}), "text": "pttour", "alt_text": text["title"]}
    options["search_bar_text"] = text["search_bar_text"]
    config.html_theme_options = options
    config.html_context = {**config.html_context, "pttour_text": text}  # for the templates
    # Sphinx indexes Chinese words only with jieba installed; "zh" is the search language name.
    config.html_search_language = "zh" if lang == TRANSLATION_LANGUAGE else "en"
    site = language_url(config.html_baseurl, lang)
    config.ogp_site_url = site or ""
    config.ogp_custom_meta_tags = (f'<meta property="og:locale" content="{text["og_locale"]}">',)
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
    site = language_url(app.config.html_baseurl, lang)
    url = other_language_url(pagename, other, suffix)
    if pagename == NOT_FOUND_PAGE:
        url = other_language_url(app.config.root_doc, other, suffix)  # the other home page
        published = urlsplit(site).path if site else f"/{lang}/"
        context["metatags"] = context.get("metatags", "") + not_found_base(lang, published)
    hreflang = other.replace("_", "-")
    context["pttour_other_language"] = {"url": url, "hreflang": hreflang}
    alternate = f'<link rel="alternate" hreflang="{hreflang}" href="{url}">\n'
    context["metatags"] = context.get("metatags", "") + alternate
    # Sphinx's canonical address is html_baseurl + page, without the language folder.
    if site and context.get("pageurl"):
        context["pageurl"] = site + app.builder.get_target_uri(pagename)


def not_found_base(lang: str, published: str) -> str:
    """The script that lets a language's 404 page, shown at any missing address, load its styles
    and links: before anything loads (``metatags`` open the head), it sets the page's ``<base>``
    to the language folder in the address, or ``published``; ``#...`` links stay on the page."""
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
    """Copy ``docs/site_root`` (the language chooser, the 404 page of the whole site) beside the
    language folders, when this build writes one of them (``html/en``, ``html/zh_CN``)."""
    outdir = Path(app.outdir)
    language = site_language(app.config.language)
    if exception is None and app.builder.format == "html" and outdir.name == language:
        for source in sorted(Path(app.srcdir, "site_root").iterdir()):
            shutil.copyfile(source, outdir.parent / source.name)


# -- Sphinx-Gallery's cards on a translated build ---------------------------------------------

_BARE_DOC_LINK = re.compile(r":doc:`[^`<>]+`")


class SkipBareDocLinks(SphinxTransform):
    """Keep the paragraph that is only a ``:doc:`page``` link, one per card, out of the catalogs:
    it shows the target page's title, translated on that page."""

    default_priority = 10  # before sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs: Any) -> None:
        for paragraph in self.document.findall(nodes.paragraph):
            if _BARE_DOC_LINK.fullmatch(paragraph.rawsource.strip()):
                paragraph["translatable"] = False


_TITLE_CLASS = "sphx-glr-thumbnail-title"
_TITLE_DIV = re.compile(rf'(<div class="{_TITLE_CLASS}">)(.*?)(</div>)', re.DOTALL)
_TOOLTIP = re.compile(r'tooltip="[^"]*"')
# A sentence ends at . ! ? followed by a space, or at a Chinese full stop, ! or ?.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
HOVER_TEXT_COLUMNS = 170  # what a card shows in full: about six lines of a 200 px card


def hover_text(paragraph: str, columns: int = HOVER_TEXT_COLUMNS) -> str:
    """The whole sentences of ``paragraph`` that fit on a card, at least the first; a sentence
    that ends in a colon introduces what follows, so it is never the last one."""
    sentences = [s for s in _SENTENCE_END.split(" ".join(paragraph.split())) if s]
    chosen = sentences[:1]
    for sentence in sentences[1:]:
        if sentence.endswith((":", "：")) or column_width(" ".join([*chosen, sentence])) > columns:
            break
        chosen.append(sentence)
    joiner = "" if chosen and chosen[0].endswith(("。", "！", "？")) else " "
    return joiner.join(chosen)


class LocalizeGalleryThumbnails(SphinxPostTransform):
    """Refill each card's title and hover text from the (translated) page it points to.

    Sphinx-Gallery writes both as raw HTML, which gettext never sees, and cuts the hover text
    after 95 characters. Runs before references are resolved (10), while a card's ``:doc:``
    link still names its page.
    """

    default_priority = 5
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        container: nodes.raw | None = None
        docname: str | None = None
        for node in list(self.document.findall()):
            if isinstance(node, nodes.raw) and "sphx-glr-thumbcontainer" in node.astext():
                container, docname = node, None
            elif container is None:
                continue
            elif isinstance(node, addnodes.pending_xref) and node.get("reftype") == "doc":
                target = docname_join(node["refdoc"], node["reftarget"])
                docname = docname or (target if target in self.env.all_docs else None)
            elif docname and isinstance(node, nodes.raw) and _TITLE_CLASS in node.astext():
                self._refill(container, node, docname)
                container, docname = None, None

    def _refill(self, container: nodes.raw, title_node: nodes.raw, docname: str) -> None:
        paragraphs = self.env.get_doctree(docname).findall(nodes.paragraph)
        first = next(
            (p for p in paragraphs if isinstance(p.parent, nodes.section | nodes.document)), None
        )
        intro = hover_text(first.astext()) if first else ""
        tooltip = f'tooltip="{html.escape(intro, quote=True)}"'
        _replace_raw(container, _TOOLTIP.sub(lambda _: tooltip, container.astext(), count=1))
        title = html.escape(self.env.titles[docname].astext(), quote=False)
        _replace_raw(title_node, _TITLE_DIV.sub(lambda m: m[1] + title + m[3], title_node.astext()))


def _replace_raw(node: nodes.raw, text: str) -> None:
    node.children[:] = [nodes.Text(text)]
    node.rawsource = text


def reset_tutorial(gallery_conf: dict[str, Any], fname: str | None) -> None:
    """Sphinx-Gallery's ``reset_modules``, before each tutorial: one CPU thread, as the
    downloads' test runs them, so a page's printed numbers do not depend on the machine that
    built it; matplotlib's defaults, small figures (560 x 336 pixels at most), modest DPI."""
    import torch

    torch.set_num_threads(1)
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    plt.rcdefaults()
    plt.rcParams.update({"figure.figsize": (6.2, 3.7), "figure.dpi": 90, "savefig.dpi": 90})
    plt.rcParams["figure.constrained_layout.use"] = True


class SearchChineseWithEnglishStemmer(SearchChinese):
    """Sphinx's Chinese search, naming the JavaScript stemmer it ships (``EnglishStemmer``).

    Sphinx 9.0 writes ``window.Stemmer = ChineseStemmer`` into ``language_data.js``, which
    defines no such class, so search on a Chinese page never finished (sphinx-doc/sphinx#14229);
    ``language_name`` feeds only that line and a log label.
    """

    language_name = "English"


def complete_sitemap(app: Sphinx, exception: Exception | None) -> None:
    """Give sphinx-sitemap the pages this build did not rewrite, ahead of its own handler: it
    lists only the pages it sees written, and an incremental build rewrites the changed ones."""
    if exception is not None or not hasattr(app.env.app, "sitemap_links"):
        return
    from sphinx_sitemap import add_html_link

    for docname in sorted(app.env.found_docs - app.pttour_written_pages):
        add_html_link(app, docname, None, None, None)


def _note_written_page(app: Sphinx, pagename: str, *args: Any) -> None:
    app.pttour_written_pages.add(pagename)


def setup(app: Sphinx) -> dict[str, Any]:
    app.pttour_written_pages = set()
    app.connect("html-page-context", _note_written_page)
    app.connect("build-finished", complete_sitemap, priority=400)
    app.add_search_language(SearchChineseWithEnglishStemmer)
    app.connect("config-inited", set_language_specifics)
    app.connect("html-page-context", add_language_switch)
    app.connect("build-finished", write_site_root)
    app.add_transform(SkipBareDocLinks)
    app.add_post_transform(LocalizeGalleryThumbnails)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
