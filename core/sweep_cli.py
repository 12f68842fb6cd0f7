"""python -m core.sweep --query "...&sweep_x=sigma_w&sweep_x_values=0.5,1,2&sweep_y=depth&sweep_y_values=1,4,16" --out DIR

Trains a sweep (core.sweep) headless: every task not finished in DIR yet, each written to DIR/tasks as soon
as it finishes (rerun the same command to resume an interrupted sweep), then the tidy frame to
DIR/sweep.csv and the sweep to DIR/sweep.json, with a progress bar over tasks on stderr. The query string is
the Scale x depth page's link after '?': the same string gives the same numbers here and there.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .sweep import BACKENDS, SweepConfig, run_sweep


def progress_bar(stream=sys.stderr):
    """progress(done, total) over tasks: a bar, the elapsed time and an ETA from the tasks trained so far."""
    start = time.perf_counter()
    first: list[int] = []  # tasks already done at the first call (read from DIR), not part of the rate

    def show(done: int, total: int):
        if not first:
            first.append(done)
        elapsed = time.perf_counter() - start
        trained = done - first[0]
        eta = f"ETA {elapsed / trained * (total - done):5.0f}s" if trained and done < total else " " * 9
        width = 30
        filled = int(width * done / max(total, 1))
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} tasks  {elapsed:6.1f}s  {eta}")
        if done == total:
            stream.write("\n")
        stream.flush()
    return show


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core sweep", description=__doc__.strip().splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--query", help="the Scale x depth page's link query string (the part after '?')")
    src.add_argument("--config", type=Path, help="a sweep.json written by an earlier sweep")
    ap.add_argument("--out", type=Path, required=True, help="folder for the task files, sweep.csv and sweep.json")
    ap.add_argument("--backend", choices=BACKENDS, default="loky",
                    help="loky: processes on this machine (default); dask: a Dask cluster")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="address of a running Dask scheduler (with --backend dask)")
    where.add_argument("--workers", type=int, help="worker processes (loky: default one per CPU; dask: a "
                                                   "LocalCluster of this many started for the sweep)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        if args.config:
            try:
                data = json.loads(args.config.read_text())
            except (OSError, json.JSONDecodeError) as e:
                raise ValueError(f"config: got {str(args.config)!r}; allowed: a sweep.json file ({e})") from None
            sweep = SweepConfig.from_json(json.dumps(data.get("sweep", data)))
        else:
            sweep = SweepConfig.from_query(args.query.split("?", 1)[-1])
        for note in sweep.notes:
            print(f"note: {note}", file=sys.stderr)
        results = run_sweep(sweep, progress=None if args.quiet else progress_bar(), out=args.out,
                            backend=args.backend, workers=args.workers, scheduler=args.scheduler)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: the finished tasks are in {args.out / 'tasks'}; the same command goes on from "
              "there", file=sys.stderr)
        return 130
    print(f"{len(results.computed)} tasks trained, {len(results.reused)} read from {args.out / 'tasks'}",
          file=sys.stderr)
    print(args.out / "sweep.csv")
    print(args.out / "sweep.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
