"""`make bench`: run every bench/bench_*.py module's `run()` and print its ratios.

Usage: python -m bench [--quick] [NAME ...]   (NAME filters modules, e.g. `status`; --quick
runs the smaller versions of the benchmarks that have one, e.g. bench_gate)
Exit status 1 if any benchmark misses its target.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from bench.common import BenchResult


def main(argv: list[str]) -> int:
    if "--quick" in argv:
        import os

        argv = [a for a in argv if a != "--quick"]
        os.environ["TORCHLANE_BENCH_QUICK"] = "1"
    folder = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )
    if argv:
        names = [n for n in names if any(word in n for word in argv)]
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"--- {name}", flush=True)
        results: list[BenchResult] = module.run()
        for result in results:
            print(result.line(), flush=True)
            failed += not result.passed
    print(f"{len(names)} benchmark module(s), {failed} target(s) missed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
