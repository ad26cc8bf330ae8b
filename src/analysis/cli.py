"""``python -m analysis COMMAND …``: one sub-command per pipeline step.

Each step's module exposes ``add_arguments(parser)`` and ``run(args) -> int`` and is imported only
when its command runs, so ``--help`` is fast and a command pays only for the libraries it uses.
Bad input surfaces as :class:`~analysis.errors.InputError`: one line ``path[:line]: message`` on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import InputError

# command → (module, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("analysis.parse", "parse compilation text files into policies.csv, policy_issuers.csv and parse_report.csv"),
    "tokens": ("analysis.tokens", "segment every policy text into tokens.parquet (one row per token)"),
    "keywords": ("analysis.keywords", "keyword frequency by year and keyness tables; counts for named terms"),
    "issuers": ("analysis.issuers", "issuing-body counts, joint-issuance network and policy citations"),
    "clusters": ("analysis.clusters", "TF-IDF + KMeans topic clusters with model selection over k"),
    "report": ("analysis.report", "execute the notebooks and build reports/index.html"),
}

EXIT_BAD_INPUT = 2


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Turn compilations of Chinese policy documents into tidy tables, then analyse them.",
        epilog="Run 'python -m analysis COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, summary) in COMMANDS.items():
        sub.add_parser(name, help=summary, add_help=False)
    return parser


def build_parser(command: str) -> argparse.ArgumentParser:
    """The argument parser of one sub-command (imports that command's module)."""
    module_name, summary = COMMANDS[command]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(
        prog=f"python -m analysis {command}",
        description=(module.__doc__ or summary).strip().splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    module.add_arguments(parser)
    parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        _top_parser().parse_args(argv or ["--help"])
        return EXIT_BAD_INPUT  # parse_args exits on --help or an unknown command
    args = build_parser(argv[0]).parse_args(argv[1:])
    try:
        return int(args._run(args) or 0)
    except InputError as err:
        print(str(err), file=sys.stderr)
        return EXIT_BAD_INPUT
