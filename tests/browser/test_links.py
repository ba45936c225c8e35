"""Every link and resource inside the site resolves, crawling both languages from the root page.

This reads the built files directly: no browser needed to follow ``href`` and ``src``.
"""

from __future__ import annotations

from pathlib import Path

from ._site import LANGUAGES, SITE, is_internal, parse_links, resolve

# Fragments that every browser understands without an element of that id.
_BUILT_IN_FRAGMENTS = {"", "top"}


def test_every_internal_link_resolves() -> None:
    start = (SITE / "index.html").resolve()
    site = SITE.resolve()
    queue, seen = [start], {start}
    ids: dict[Path, set[str]] = {}
    broken: list[str] = []
    while queue:
        page = queue.pop()
        parsed = parse_links(page)
        ids[page] = parsed.ids
        for tag, url in parsed.urls:
            if not is_internal(url):
                continue
            target, fragment = resolve(page, url)
            where = f"{page.relative_to(site)}: <{tag}> {url}"
            if not target.is_relative_to(site):
                broken.append(f"{where} (leaves the site)")
                continue
            if target.is_dir():
                target /= "index.html"
            if not target.is_file():
                broken.append(f"{where} (no such file)")
                continue
            if target.suffix != ".html":
                continue
            if target not in seen:
                seen.add(target)
                queue.append(target)
            if fragment not in _BUILT_IN_FRAGMENTS:
                if target not in ids:
                    ids[target] = parse_links(target).ids
                if fragment not in ids[target]:
                    broken.append(f"{where} (no element with id {fragment!r})")
    for lang in LANGUAGES:
        assert (site / lang / "index.html") in seen, f"the root page does not lead to {lang}/"
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:100])
