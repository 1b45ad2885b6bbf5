"""Run every benchmark module (``bench_*.py``) in turn: ``python -m bench [name ...]``.

Options after the name go to that one benchmark (``python -m bench soak --minutes 1``).
``python -m bench import-graph`` prints the import graph's counts instead (no benchmark runs).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from bench import import_graph


def main(argv: list[str]) -> int:
    """Run the named benchmarks, or all of them; return non-zero if any failed."""
    if argv == ["import-graph"]:
        import_graph.main()
        return 0
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    argv, options = argv[:split], argv[split:]
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    chosen = [n for n in names if not argv or n in argv or n.removeprefix("bench_") in argv]
    if options and len(chosen) != 1:
        print("options go to one benchmark: name exactly one before them", file=sys.stderr)
        return 2
    failed = 0
    for name in chosen:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        try:
            module.main(options) if options else module.main()
        except Exception as exc:  # one broken benchmark does not hide the others
            print(f"{name} failed: {exc!r}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


raise SystemExit(main(sys.argv[1:]))
