"""python -m core.sweeps.sweep --query "...&sweep_x=sigma_w&sweep_x_values=0.5,1,2&sweep_y=depth&sweep_y_values=1,4,16" --out DIR

Trains a sweep (core.sweeps.sweep) headless: every task not finished in DIR yet, each written to DIR/tasks as soon
as it finishes (rerun the same command to resume an interrupted sweep), then the tidy frame to
DIR/sweep.csv and the sweep to DIR/sweep.json, with a progress bar over tasks on stderr. The query string is
the Scale x depth page's link after '?': the same string gives the same numbers here and there.
"""
from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

from core.sweeps.sweep import BACKENDS, SweepConfig, run_sweep


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


SWEEP_JSON_ALLOWED = "a sweep.json written by an earlier sweep"
OUT_ALLOWED = "a new folder, or the folder of an earlier sweep, that can be written"


def main(argv=None) -> int:
    from core.__main__ import stopped_like_ctrl_c
    with stopped_like_ctrl_c():
        return _main(argv)


def _main(argv) -> int:
    from core.__main__ import InputError, _Parser, end_workers, one_line
    ap = _Parser(prog="python -m core sweep", description=__doc__.strip().splitlines()[0])
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
    args = None
    try:
        args = ap.parse_args(argv)
        sweep = read_sweep(args.config) if args.config else SweepConfig.from_query(args.query.split("?", 1)[-1])
        check_out(args.out)
        for note in sweep.notes:
            print(one_line(f"note: {note}"), file=sys.stderr)
        with warnings.catch_warnings():
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = _one_line_warning
            results = run_sweep(sweep, progress=None if args.quiet else progress_bar(), out=args.out,
                                backend=args.backend, workers=args.workers, scheduler=args.scheduler)
    except InputError as e:
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except ValueError as e:  # the query, a setting of the backend
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:  # --out filled up or went read-only while the sweep ran: its finished tasks stay
        print(f"error: {one_line(f'--out {args.out}: could not write ({e.strerror or e})')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        end_workers()
        tasks = args.out / "tasks" if args is not None else None
        if tasks is not None and any(tasks.glob("*.csv")):
            print(one_line(f"\ninterrupted: the finished tasks are in {tasks}; the same command goes on from "
                           "there"), file=sys.stderr)
        else:
            print("\nerror: interrupted before any task finished; nothing was written", file=sys.stderr)
        return 130
    print(f"{len(results.computed)} tasks trained, {len(results.reused)} read from {args.out / 'tasks'}",
          file=sys.stderr)
    print(args.out / "sweep.csv")
    print(args.out / "sweep.json")
    return 0


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    from core.__main__ import one_line
    print(one_line(f"warning: {message}"), file=sys.stderr)


def read_sweep(path: Path) -> SweepConfig:
    """The sweep in the file ``path`` (an earlier sweep's sweep.json, or its "sweep" object alone); InputError
    naming --config, the file and what is wrong."""
    from core.__main__ import InputError, read_file
    raw = read_file(path, "--config", SWEEP_JSON_ALLOWED)

    def bad(why: str):
        raise InputError(f"--config {path}: {why}; allowed: {SWEEP_JSON_ALLOWED}")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        bad(f"not UTF-8 text (byte 0x{raw[e.start]:02x} at position {e.start})")
    except json.JSONDecodeError as e:
        bad(f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})")
    except RecursionError:
        bad("nests lists or objects too deeply")
    if not isinstance(data, dict):
        bad("is not a JSON object")
    data = data.get("sweep", data)
    if not isinstance(data, dict):
        bad('its "sweep" is not a JSON object')
    try:
        return SweepConfig.from_json(json.dumps(data))
    except ValueError as e:
        raise InputError(f"--config {path}: {e}") from None


def check_out(out: Path) -> None:
    """--out before anything trains: a folder, or a path where one can be made, that can be written (made and
    removed here to know); InputError naming it otherwise."""
    from core.__main__ import InputError
    from core.export import unwritable

    def refuse(why: str):
        raise InputError(f"--out {out}: {why}; allowed: {OUT_ALLOWED}")
    target = Path(os.path.abspath(out))
    try:
        if target.exists() and not target.is_dir():
            refuse("is a file" if target.is_file() else "exists and is not a folder")
        # an existing folder receives the sweep's files (a rerun resumes it): it must be writable itself
        why = unwritable(target if target.exists() else target.parent, target.name)
    except OSError as e:
        why = f"cannot be written ({e.strerror or e})"
    if why:
        refuse(why)


if __name__ == "__main__":
    sys.exit(main())
