"""`python -m benchmarks [--quick] [--json FILE]`: every speed and scale figure in one table.

    python -m benchmarks --quick --json figures.json   # smaller sizes, a few minutes
    python -m benchmarks                                # the issue's sizes (100,000 mentees)

PostgreSQL comes from CHECKINS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1/test);
each part works in a fresh schema that it drops afterwards. See benchmarks/suite.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.suite import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (named so in each figure)")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    parser.add_argument("--only", action="append", choices=["inbound", "crisis", "fanout", "intake", "startup", "detection", "scale"],
                        help="run only these parts (the raw commit rates always run)")
    args = parser.parse_args()
    return run(args.quick, args.json or None, args.only)


if __name__ == "__main__":
    sys.exit(main())
