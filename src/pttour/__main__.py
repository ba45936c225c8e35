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
    parser = _build_parser()
    args = parser.parse_args(argv)
    # "env" is the only command; argparse has already rejected anything else.
    return _run_env(as_json=args.json)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pttour",
        description="pttour: a tour of PyTorch's everyday APIs, done right.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    env = commands.add_parser(
        "env",
        help="report Python, torch and devices, and whether pttour supports them",
        description="Report Python, torch and devices, and whether pttour supports them. "
        "Exits with status 1 when it does not.",
    )
    env.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _run_env(*, as_json: bool) -> int:
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
