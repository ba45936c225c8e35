"""Sphinx configuration of the pttour site (English source, Chinese from gettext catalogs).

Build one language with ``sphinx-build -W --keep-going docs OUT`` (English) or
``sphinx-build -W --keep-going -D language=zh_CN docs OUT`` (Chinese); ``nox -s docs`` builds
both into one site. Everything that differs between the languages (titles, footer, search
language, the switcher link) is set from ``language`` in ``docs/_ext/pttour_site.py``.
"""

from __future__ import annotations

import importlib.metadata
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

from packaging.metadata import Metadata
from pttour_install import install_cell

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the docs group installs tomli
    import tomli as tomllib

import pttour  # after the path set-up on purpose: fail early if pttour is not installed

# To link the names of a code block, Sphinx-Gallery reads each ``name.attribute`` in the page's
# namespace after the page ran; reading ``.grad`` of a non-leaf tensor there makes torch warn in
# the build log. No reader's code does that read, so it is not the page's warning.
warnings.filterwarnings("ignore", category=UserWarning, module="sphinx_gallery.backreferences")

# -- Project ------------------------------------------------------------------------------------
project = "pttour"
author = "The pttour authors"
copyright = "The pttour authors, BSD-3-Clause"  # no year: the pages must not change each January
release = version = pttour.__version__
language = "en"
# The site's address, from [project.urls] in pyproject.toml: https://pttour.github.io/pttour/
# holds the language chooser, en/, zh_CN/ and dist/ (the wheel).
_metadata = importlib.metadata.distribution("pttour").read_text("METADATA")
_urls = Metadata.from_email(_metadata).project_urls
pttour_site_url = _urls["Documentation"]
# The links at the top of each tutorial: its source and a new issue on GitHub, and "Run in
# Google Colab", which opens the page's notebook from the branch that the pages workflow
# publishes the built site to (docs/_data/published_branch.toml, which that workflow reads too).
pttour_repository_url = _urls["Source"]
pttour_issues_url = _urls["Issues"]
with (DOCS / "_data" / "published_branch.toml").open("rb") as _file:
    pttour_published_branch = tomllib.load(_file)["branch"]
_torch_minimum = "{}.{}".format(*pttour.MIN_TORCH)  # the lower bound of torch in the metadata
del _metadata, _urls

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "sphinx_last_updated_by_git",  # "Last updated" of each page from its sources' git history
    "sphinx_sitemap",  # sitemap.xml of each language, with the other language as alternate
    "sphinxext.opengraph",  # Open Graph tags: title, description, first figure
    # local extensions, in docs/_ext
    "pttour_site",  # per-language title/footer/search, language switcher, localised gallery bits
    "pttour_errata",  # docs/errata.rst from docs/_data/errata.toml
    "pttour_api",  # the ``pttour-api`` directive: one module's public names + mini-galleries
    "pttour_downloads",  # Chinese pages offer translated scripts and notebooks; no roles in notebooks
    "pttour_install",  # the ``pttour-wheel`` directive (the notebooks' install cell: above)
    "pttour_gallery",  # code thumbnails, a tutorial's links at its top, run times, page dates
    "pttour_lessons",  # ``solution`` (collapsed), ``figure-caption``; code comments translated
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "locale",
    "site_root",
    "tutorials",  # the gallery sources; their pages are generated into auto_tutorials/
    "gen_modules",
    "sg_execution_times.rst",
]
# Warnings are errors in every build (-W); keep the docs free of references to nowhere.
nitpicky = False

# -- MyST ---------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- autodoc / napoleon ---------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# A method without its own docstring stays undocumented rather than showing torch's docstring
# (e.g. of autograd.Function.forward), whose references point into torch's documentation.
autodoc_inherit_docstrings = False
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# -- Sphinx-Gallery ---------------------------------------------------------------------------------
# Only plain values (strings, tuples) here: a callable or object would make Sphinx think the
# configuration changed on every build and re-read every page.
sphinx_gallery_conf = {
    "examples_dirs": "tutorials",
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/plot_\d\d_",  # run every tutorial
    "ignore_pattern": r"__init__\.py|/_",
    "within_subsection_order": "FileNameSortKey",  # article order: plot_01, plot_02, ...
    "doc_module": ("pttour",),
    "backreferences_dir": "gen_modules/backreferences",
    "exclude_implicit_doc": set(),
    "image_scrapers": ("matplotlib",),
    # One thread, rcdefaults() and small figures at a modest DPI before every tutorial
    "reset_modules": ("pttour_site.reset_tutorial",),
    "remove_config_comments": True,
    # No run times or memory in the pages: they would change on every build and
    # every change would become a new message in the Chinese catalogs.
    "min_reported_time": 10**9,
    "write_computation_times": False,
    "show_memory": False,
    "show_signature": True,
    "download_all_examples": True,
    # Every notebook starts with a cell that installs what is missing (Jupyter and Colab).
    "first_notebook_cell": install_cell(pttour_site_url, release, _torch_minimum),
    "line_numbers": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "thumbnail_size": (320, 224),
}

# -- HTML -----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_short_title = project  # html_title is per language: see pttour_site.set_language_specifics
html_static_path = ["_static"]
html_css_files = ["pttour.css"]
html_js_files = [("pttour.js", {"defer": "defer"})]  # the switcher keeps the section and query
html_favicon = "_static/pttour-favicon.svg"  # also linked by the pages in docs/site_root
html_copy_source = False
html_show_sourcelink = False
# The date of the newest commit that changed a page's sources (sphinx-last-updated-by-git):
# it moves only when the page does, and a rebuild re-reads no page for it.
html_last_updated_fmt = "%Y-%m-%d"
git_last_updated_timezone = "UTC"
html_theme_options = {
    "logo": {"text": "pttour"},  # per-language text: see pttour_site.set_language_specifics
    # persistent items stay in the header on a phone too (navbar_end moves into the ☰ menu)
    "navbar_end": ["theme-switcher"],
    "navbar_persistent": ["search-button", "language-switcher"],
    "footer_start": ["pttour-footer"],
    "footer_center": [],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
    "article_footer_items": ["last-updated", "pttour-run-time"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "show_prev_next": True,
}
# Without a stored choice the theme reads an empty mode and logs a console error on each
# first visit; "auto" follows the reader's system setting.
html_context = {"default_mode": "auto"}
html_sidebars = {"index": [], "install": [], "errata": [], "api": []}

# -- sphinx-copybutton ------------------------------------------------------------------------------
# Strip ">>> ", "... " and "$ " prompts; when a block has prompts, copy only the prompted lines,
# so a doctest block copies its code and never its output.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_remove_prompts = True
copybutton_exclude = ".linenos"
# Code only: an output block (Sphinx-Gallery's .sphx-glr-script-out) gets no copy button.
copybutton_selector = "div:not(.sphx-glr-script-out) > div.highlight > pre"

# -- Search ---------------------------------------------------------------------------------------
# Splits a Chinese query as jieba split the index, and ranks tutorials above API objects.
html_search_scorer = str(DOCS / "_ext" / "pttour_search.js")

# -- Sitemap, Open Graph -----------------------------------------------------------------------------
# Both need the site's address, html_baseurl (the folder that holds en/ and zh_CN/);
# pttour_site derives each language's address from it and leaves them out when it is unset.
html_baseurl = pttour_site_url  # from [project.urls] Documentation in pyproject.toml
sitemap_url_scheme = "{lang}{link}"  # en/index.html, zh_CN/index.html: no version folder
sitemap_locales = ["en", "zh_CN"]
sitemap_excludes = ["404.html", "search.html", "genindex.html", "py-modindex.html"]
ogp_social_cards = {"enable": False}  # no matplotlib card per page: the first figure instead
ogp_use_first_image = True

# -- i18n -----------------------------------------------------------------------------------------
locale_dirs = ["locale/"]
gettext_compact = False  # one catalog per page, at a path mirroring the page
gettext_uuid = False
gettext_location = False
gettext_additional_targets: list[str] = []  # code and outputs are never translated
gettext_last_translator = "pttour translators"
gettext_language_team = "pttour translators"
