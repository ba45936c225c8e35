"""Every downloaded script and notebook, in both languages, runs to the end without an error.

The runs start in the background when the tests are collected (see ``_runs.py``); this module
comes last in the run, so the browser tests go on while the tutorials execute.
"""

from __future__ import annotations

import pytest

from ._runs import DownloadRuns
from ._site import LANGUAGES, downloads, tutorials

DOWNLOADS = [
    (lang, name, suffix)
    for name in tutorials()
    for lang in LANGUAGES
    for suffix in (".py", ".ipynb")
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lang", "name", "suffix"),
    DOWNLOADS,
    ids=[f"{lang}-{name}{suffix}" for lang, name, suffix in DOWNLOADS],
)
def test_download_runs(download_runs: DownloadRuns, lang: str, name: str, suffix: str) -> None:
    path = downloads(lang, name).get(suffix)
    assert path is not None, f"{lang}/{name} offers no {suffix} download"
    outcome = download_runs.outcome(path)
    assert outcome.returncode == 0, (
        f"{lang} {path.name} failed (exit status {outcome.returncode}) running "
        f"`{outcome.command}` in a temporary folder; its output ends with:\n{outcome.output}"
    )
