"""Entry point of `edihub`. Sub-command modules are listed here; each defines register(subparsers) and sets
`func` on its parser. Exit codes: 0 success, 1 the input was judged bad (invalid, unverifiable, ...), 2 usage
or unreadable input."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

COMMAND_MODULES = [
    "cli.formats",
    "cli.validate",
    "cli.translate",
    "cli.sign",
    "cli.pki",
    "cli.serve",
    "cli.client",
    "console.cli_ops",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edihub", description="Customs single-window message hub")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
