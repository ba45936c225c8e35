"""Command line: ``python -m pttour env [--json]`` (also installed as ``pttour``; ``--version``).

``env`` prints what is installed; when pttour does not support it, the problem goes to stderr as
one sentence saying what to install, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys

from pttour import __version__, environment
from pttour.errors import UnsupportedEnvironmentError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``pttour`` command line and return its exit status.

    ``argv`` defaults to ``sys.argv[1:]``; invalid arguments exit with status 2 (argparse).

    >>> main(["env"])
    pttour environment report
      Python       ...
      supported    yes
    0
    """
    parser = argparse.ArgumentParser(prog="pttour", description="pttour: PyTorch, done right.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    what = (
        "report Python, torch and devices, and whether pttour supports them (exit status 1 if not)"
    )
    commands.add_parser("env", help=what, description=what).add_argument(
        "--json", action="store_true", help="print the report as JSON"
    )
    as_json = parser.parse_args(argv).json  # "env" is the only command; argparse refuses others
    report = environment.collect_environment()
    print(json.dumps(report.to_dict(), indent=2) if as_json else report.to_text())
    try:
        environment.require_supported(report)
    except UnsupportedEnvironmentError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
