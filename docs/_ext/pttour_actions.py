"""What a reader can do with a tutorial, offered at its top, in the page's language.

``html-page-context`` gives the ``pttour-actions.html`` template (above the text of the page,
``docs/_templates/page.html``) five links, labelled from ``pttour_site.SITE_TEXT``:

- the page's ``.py`` and ``.ipynb``, the same files as the buttons at its end (on the Chinese
  site, the Chinese ones);
- "Run in Google Colab": Colab opens a notebook from a path in a GitHub repository, not from a
  web address, so the link points to the page's notebook on the branch that the pages workflow
  publishes the built site to (``pttour_published_branch``), where it lies at the same path as
  under the site root;
- the tutorial's source on GitHub, and a new issue whose title names the page.

The repository and its issues are ``[project.urls]`` Source and Issues of pttour's metadata,
the branch ``[tool.pttour] published-branch`` of ``pyproject.toml`` (``docs/conf.py`` reads
them). Sphinx-Gallery's note above each tutorial ("Go to the end to download the full example
code") is left out of the HTML, which now has the downloads at the top; the gettext build still
sees it, so the catalogs do not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

COLAB = "https://colab.research.google.com/github/"


def colab_url(repository: str, branch: str, path: str) -> str:
    """The address at which Colab opens the notebook ``path`` of ``branch`` of a repository.

    >>> colab_url("https://github.com/o/r", "gh-pages", "en/_downloads/0a/plot_01_x.ipynb")
    'https://colab.research.google.com/github/o/r/blob/gh-pages/en/_downloads/0a/plot_01_x.ipynb'
    """
    owner_and_name = urlsplit(repository).path.strip("/").removesuffix(".git")
    return f"{COLAB}{owner_and_name}/blob/{branch}/{path}"


def _download(app: Sphinx, docname: str, filename: str) -> str | None:
    """Where the download ``filename`` of page ``docname`` lies in the built site
    (``_downloads/<digest>/<filename>``), or None when the page offers no such file."""
    for source, (docnames, destination) in app.env.dlfiles.items():
        if docname in docnames and Path(source).name == filename:
            return f"_downloads/{destination}"
    return None


def add_actions(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Hand a tutorial page's five links, labelled in its language, to the template."""
    from pttour_gallery import _gallery_dirs
    from pttour_site import SITE_TEXT, language_url, site_language

    context["pttour_actions"] = None
    folder, _, name = pagename.rpartition("/")
    sources = [source for source, gallery in _gallery_dirs(app) if gallery.name == folder]
    script = sources[0] / f"{name}.py" if sources else None
    if script is None or not name.startswith("plot_") or not script.is_file():
        return
    py, ipynb = _download(app, pagename, script.name), _download(app, pagename, f"{name}.ipynb")
    if py is None or ipynb is None:
        return
    lang = site_language(app.config.language)
    text = SITE_TEXT[lang]
    config = app.config
    title = app.env.titles[pagename].astext()
    address = (language_url(config.html_baseurl, lang) or f"{lang}/") + (
        app.builder.get_target_uri(pagename)
    )
    report = {
        "title": text["report_title"].format(title=title),
        "body": text["report_body"].format(address=address),
    }
    pathto = context["pathto"]
    repository = config.pttour_repository_url.rstrip("/")
    colab = colab_url(repository, config.pttour_published_branch, f"{lang}/{ipynb}")
    # HEAD: GitHub's name for the default branch, whatever it is called
    source = f"{repository}/blob/HEAD/{script.relative_to(Path(app.srcdir).parent).as_posix()}"
    issue = f"{config.pttour_issues_url.rstrip('/')}/new?{urlencode(report)}"
    context["pttour_actions"] = [
        _action(text["action_py"], pathto(py, 1), "fa-solid fa-download", download=True),
        _action(text["action_ipynb"], pathto(ipynb, 1), "fa-solid fa-download", download=True),
        _action(text["action_colab"], colab, "fa-solid fa-play"),
        _action(text["action_source"], source, "fa-brands fa-github"),
        _action(text["action_report"], issue, "fa-solid fa-bug"),
    ]


def _action(label: str, url: str, icon: str, download: bool = False) -> dict[str, Any]:
    return {"label": label, "url": url, "icon": icon, "download": download}


class DropGoToTheEndNote(SphinxPostTransform):
    """Leave Sphinx-Gallery's "Go to the end to download" note out of the HTML pages."""

    default_priority = 5
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(nodes.Element)):
            if "sphx-glr-download-link-note" in node.get("classes", ()):
                node.parent.remove(node)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("pttour_repository_url", "", "html", types=[str])
    app.add_config_value("pttour_issues_url", "", "html", types=[str])
    app.add_config_value("pttour_published_branch", "", "html", types=[str])
    app.connect("html-page-context", add_actions)
    app.add_post_transform(DropGoToTheEndNote)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
