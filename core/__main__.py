"""python -m core --query "dataset=moons&schemes=zeros&schemes=he_normal&seeds=3" --out DIR
python -m core sweep --query "...&sweep_x=sigma_w&sweep_x_values=..." --out DIR   (see core.sweeps.sweep_cli)

Runs a configuration headless and writes one CSV per frame, config.json and
weights.npz into DIR: the same numbers as the dashboard for the same query.

Every input is checked before any training: a bad --query, --config or --out
exits with status 2 and one line on stderr naming it. DIR is written
atomically (see core.export.write_dir): it must be new, empty, or hold an
earlier export, which is then replaced whole.
"""
from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import os
import signal
import stat
import sys
import threading
import time
import unicodedata
from pathlib import Path

from core.config import ExperimentConfig
from core.experiment import run
from core.export import check_target, write_dir

USAGE_ERROR = 2  # bad input: nothing was trained or written
WRITE_ERROR = 1  # the run trained but its export could not be written; nothing was changed on disk
INTERRUPTED = 130  # the shells' code for Ctrl-C
MAX_CONFIG_BYTES = 1 << 20
CONFIG_ALLOWED = "a config.json written by an export, or a JSON object of configuration fields"
MAX_MESSAGE = 1000  # a message quoting a huge value keeps its start (the name) and its end (what is allowed)


class InputError(ValueError):
    """A command-line input that cannot be used; its message names it."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own: usage plus a message on several lines
        raise InputError(f"{message} (see python -m core --help)")


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


def read_file(path: Path, option: str, allowed: str) -> bytes:
    """The bytes of the regular file ``path`` (at most MAX_CONFIG_BYTES); InputError naming ``option``, the
    file and what is wrong. A FIFO, a device (/dev/zero) or a socket is refused before it is opened: reading
    one could wait for a writer, or never end."""
    def bad(why: str):
        raise InputError(f"{option} {path}: {why}; allowed: {allowed}")

    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            bad("is a folder")
        if not stat.S_ISREG(mode):
            bad("is not a regular file (a pipe, a device or a socket)")
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        bad("no such file")
    except OSError as e:
        bad(f"cannot be read ({e.strerror or e})")
    if len(raw) > MAX_CONFIG_BYTES:
        bad(f"is larger than {MAX_CONFIG_BYTES // 2**20} MiB")
    return raw


def read_config(path: Path) -> ExperimentConfig:
    """The configuration in the file ``path``; InputError naming the file and what is wrong with it."""
    raw = read_file(path, "--config", CONFIG_ALLOWED)
    try:
        return config_from_json_bytes(raw)
    except ValueError as e:
        raise InputError(f"--config {path}: {e}") from None


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def stopped_like_ctrl_c():
    """SIGTERM and SIGHUP (a closed terminal, ``kill``, a job scheduler) end the command as Ctrl-C does: a
    KeyboardInterrupt, so the same clean-up runs (the workers ended, nothing partial left). By default they
    would end this process at once and leave its worker processes running, holding its stdout and stderr."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread handles signals
        yield
        return
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def end_workers() -> None:
    """End every worker process this command started (core.runtime.workers' pools: the training pool's, a
    sweep's), busy ones too."""
    from core.runtime import workers
    workers.end_all()


def config_from_json_bytes(raw: bytes) -> ExperimentConfig:
    """An export's config.json (its "config" object) or a bare object of fields -> the configuration.
    ValueError says what is wrong: the encoding, the JSON, its shape, or a field (named)."""
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0  # as some Windows editors write
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as e:
        at = bom + e.start
        raise ValueError(f"not UTF-8 text (byte 0x{raw[at]:02x} at position {at}); "
                         f"allowed: {CONFIG_ALLOWED}") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_repeated_keys, parse_int=_json_int)
        if isinstance(data, dict) and "config" in data:
            data = data["config"]
            where = 'its "config" '
        else:
            where = ""
        if not isinstance(data, dict):
            raise ValueError(f"{where}is {_json_kind(data)}; allowed: {CONFIG_ALLOWED}")
        return ExperimentConfig.from_json(json.dumps(data))
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                         f"allowed: {CONFIG_ALLOWED}") from None
    except RecursionError:
        raise ValueError(f"nests lists or objects too deeply; allowed: {CONFIG_ALLOWED}") from None


def _no_repeated_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"{key}: given twice; allowed: each key once")
        seen[key] = value
    return seen


def _json_int(digits: str):
    # Python refuses to convert more than 4300 digits to an int, with a message that names no field;
    # as a float the number is merely out of range, which the field's own check then says.
    return int(digits) if len(digits) <= 300 else float(digits)


def _json_kind(value) -> str:
    kinds = {list: "a JSON array", str: "a JSON string", bool: "a JSON boolean", type(None): "JSON null"}
    return kinds.get(type(value), "a JSON number")


def one_line(message: str) -> str:
    """``message`` as one line a terminal shows as it is: line breaks, control and format characters
    escaped (\\n, \\x1b, \\u202e), the bytes of a file name that are not UTF-8 shown as \\xNN, and a very
    long message shortened in the middle."""
    text = "".join(_escaped(ch) if unicodedata.category(ch) in _HIDDEN else ch for ch in message)
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE * 3 // 4] + " … " + text[-MAX_MESSAGE // 4:]
    return text


_HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _escaped(ch: str) -> str:
    if 0xDC80 <= ord(ch) <= 0xDCFF:  # how Python holds a byte of a file name that is not UTF-8
        return f"\\x{ord(ch) - 0xDC00:02x}"
    return ch.encode("unicode_escape").decode()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["sweep"]:
        from core.sweeps.sweep_cli import main as sweep_main
        return sweep_main(argv[1:])
    with stopped_like_ctrl_c():
        return _main(argv)


def _main(argv: list[str]) -> int:
    ap = _Parser(prog="python -m core", description=__doc__.strip().splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--query", default="", help="a dashboard link's query string (the part after '?')")
    src.add_argument("--config", type=Path, help="a config.json written by an export")
    ap.add_argument("--out", type=Path, required=True,
                    help="folder for the files: new, empty, or an earlier export (replaced whole)")
    ap.add_argument("--no-budget", action="store_true", help="train even past the public server's work limit")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    try:
        args = ap.parse_args(argv)
        if args.config is not None:
            config = read_config(args.config)
        else:
            config = ExperimentConfig.from_query(args.query.split("?", 1)[-1])
        try:
            check_target(args.out)
        except ValueError as e:
            raise InputError(f"--out {e}") from None
        results = run(config, progress=None if args.quiet else _progress_bar(),
                      enforce_budget=not args.no_budget)
    except ValueError as e:  # InputError, a field of the configuration, the work budget
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        end_workers()
        print("\nerror: interrupted; nothing was written", file=sys.stderr)
        return INTERRUPTED
    try:
        written, earlier = write_dir(results, args.out)
    except ValueError as e:  # --out changed while the run trained
        print(f"error: {one_line(f'--out {e}')}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as e:
        print(f"error: {one_line(f'--out {args.out}: could not write the export ({e.strerror or e})')}; "
              "nothing was changed there", file=sys.stderr)
        return WRITE_ERROR
    except KeyboardInterrupt:
        end_workers()
        print("\nerror: interrupted; nothing was written", file=sys.stderr)
        return INTERRUPTED
    if earlier is not None:
        print(one_line(f"note: replaced the earlier export in {args.out} (run_id {earlier['run_id']})"),
              file=sys.stderr)
    for path in written:
        print(one_line(str(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
