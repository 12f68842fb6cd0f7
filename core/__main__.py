"""python -m core --query "dataset=moons&schemes=zeros&schemes=he_normal&seeds=3" --out DIR

Runs a configuration headless and writes one CSV per frame, config.json and
weights.npz into DIR: the same numbers as the dashboard for the same query.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import ExperimentConfig
from .experiment import run
from .export import write_dir


def _progress_bar():
    start = time.perf_counter()

    def show(epoch: int, total: int):
        width = 30
        done = int(width * epoch / max(total, 1))
        sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] epoch {epoch}/{total} "
                         f"{time.perf_counter() - start:5.1f}s")
        if epoch == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core", description=__doc__.strip().splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--query", default="", help="a dashboard link's query string (the part after '?')")
    src.add_argument("--config", type=Path, help="a config.json written by an export")
    ap.add_argument("--out", type=Path, required=True, help="directory for the CSV files")
    ap.add_argument("--no-budget", action="store_true", help="train even past the public server's work limit")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        if args.config:
            import json
            text = args.config.read_text()
            data = json.loads(text)
            config = ExperimentConfig.from_json(json.dumps(data.get("config", data)))
        else:
            config = ExperimentConfig.from_query(args.query.split("?", 1)[-1])
        results = run(config, progress=None if args.quiet else _progress_bar(),
                      enforce_budget=not args.no_budget)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in write_dir(results, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
