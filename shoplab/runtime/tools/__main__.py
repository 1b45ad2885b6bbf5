"""``python -m shoplab.runtime.tools install [--for demo|up|test] [TOOL...] | status``: install or list the tools."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from shoplab.runtime.tools.catalog import PACKAGES, TOOLS, Purpose, find_tool
from shoplab.runtime.tools.errors import ToolMissing
from shoplab.runtime.tools.install import Installer, packages_for
from shoplab.runtime.tools.progress import format_line, format_path, reporter_for


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(prog="python -m shoplab.runtime.tools", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install", help="install what is missing, one line per tool")
    install.add_argument("--for", dest="purpose", choices=[p.value for p in Purpose], default=None,
                         help="only what this needs (default: every tool)")
    install.add_argument("names", nargs="*", metavar="TOOL", help=f"only these ({', '.join(PACKAGES)})")
    sub.add_parser("status", help="say where each tool is, or how to install it")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, *, console: Console | None = None) -> int:
    """Run the command; return its exit code (1 when an install failed)."""
    args = parse_args(argv)
    out = console or Console(highlight=False)
    if args.command == "status":
        for name, tool in TOOLS.items():
            path = find_tool(name)
            out.print(format_line(name, "installed" if path else "missing", format_path(path) if path else tool.hint),
                      markup=False, highlight=False, soft_wrap=True)
        return 0
    installer = Installer(reporter_for(out))
    try:
        installer.install_all(packages_for(Purpose(args.purpose) if args.purpose else None, args.names))
    except ToolMissing as exc:
        print(f"setup failed: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
