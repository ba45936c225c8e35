"""Browser tests of the built site (``nox -s browser``); a package so its conftest is its own."""
