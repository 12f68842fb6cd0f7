"""Results -> files: one CSV per frame, config.json, weights.npz, or all in a zip.

Every exported frame gets a ``run_id`` column (a hash of the full query
string); config.json carries the same id and the query, so a CSV that has
travelled alone can still be matched to the configuration that made it.

``write_dir`` writes a folder atomically: every file goes into a temporary
folder beside the target, which is renamed into place only once all of them
are complete, so a failure (a full disk, an interrupt) leaves no partial
files and an earlier export intact. An existing folder is only ever replaced
whole, and only when it holds nothing but an earlier initlab export.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import zipfile
from pathlib import Path
from typing import Iterator

import pandas as pd

CONFIG = "config.json"
WEIGHTS = "weights.npz"
# an earlier export's config.json is a few KB; a larger file there is something else
MAX_CONFIG_BYTES = 1 << 20
ALLOWED_TARGET = "a new or empty folder, or the folder of an earlier initlab export (replaced whole)"
_FRAME_NAME = re.compile(r"[a-z0-9_]+")


def with_run_id(df: pd.DataFrame, run_id: str) -> pd.DataFrame:
    out = df.copy()
    out.insert(0, "run_id", run_id)
    return out


def csv_bytes(df: pd.DataFrame, run_id: str) -> bytes:
    return with_run_id(df, run_id).to_csv(index=False).encode()


def config_json(results) -> str:
    c = results.config
    return json.dumps({"run_id": c.run_id, "query": c.to_query(), "config": c.to_dict(),
                       "frames": sorted(results.frames)}, indent=2)


def files(results) -> Iterator[tuple[str, bytes]]:
    """(file name, contents) of every file of an export, built one at a time."""
    rid = results.config.run_id
    yield CONFIG, config_json(results).encode()
    for name, df in results.frames.items():
        yield f"{name}.csv", csv_bytes(df, rid)
    yield WEIGHTS, results.npz_bytes()


def zip_bytes(results) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files(results):
            zf.writestr(name, data)
    return buf.getvalue()


def earlier_export(folder: Path) -> dict | None:
    """The config.json of the initlab export ``folder`` holds, or None if it holds anything else.

    An export is recognised by its config.json (with a run_id and a query) and by holding nothing but the
    files an export writes: that config.json, weights.npz and one CSV per frame config.json lists.
    """
    try:
        meta_path = folder / CONFIG
        if not meta_path.is_file() or meta_path.stat().st_size > MAX_CONFIG_BYTES:
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not (isinstance(meta, dict) and isinstance(meta.get("run_id"), str)
                and isinstance(meta.get("query"), str)):
            return None
        frames = meta.get("frames", [])
        if not isinstance(frames, list) or not all(isinstance(f, str) and _FRAME_NAME.fullmatch(f)
                                                   for f in frames):
            return None
        allowed = {CONFIG, WEIGHTS, *(f"{f}.csv" for f in frames)}
        for entry in folder.iterdir():
            if entry.name not in allowed or entry.is_symlink() or not entry.is_file():
                return None
        return meta
    except (OSError, ValueError, RecursionError):
        return None


def check_target(out: Path) -> dict | None:
    """Checks, before any work, that ``out`` can receive an export; returns the config.json of the earlier
    export it holds (which ``write_dir`` replaces whole), else None. Raises ValueError naming ``out`` and
    what is wrong: a file, a folder holding other files, a path under a file, a place that cannot be written.
    """
    def refuse(why: str):
        raise ValueError(f"{out}: {why}; allowed: {ALLOWED_TARGET}")

    target = Path(os.path.abspath(out))
    earlier = None
    try:
        target = target.resolve()
        if target.exists():
            if not target.is_dir():
                refuse("is a file" if target.is_file() else "exists and is not a folder")
            if any(target.iterdir()):
                earlier = earlier_export(target)
                if earlier is None:
                    refuse("is a folder that holds files other than an initlab export")
        why = unwritable(target.parent, target.name)
        if why:
            refuse(why)
    except OSError as e:
        refuse(f"cannot be written ({e.strerror or e})")
    return earlier


def unwritable(start: Path, name: str) -> str | None:
    """Why ``name`` cannot be written in ``start`` or, where it does not exist yet, its nearest existing
    ancestor; None if it can. The one sure test of "can be written": create there, and remove, the hidden
    folder that an atomic write creates first. (The run export and the sweep CLI check their --out with it.)"""
    base = start
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        return f"is under {base}, which is not a folder"
    try:
        _fresh_dir(base, name, "check").rmdir()
    except OSError as e:
        return f"cannot be written ({e.strerror or e})"
    return None


def write_dir(results, out: Path) -> tuple[list[Path], dict | None]:
    """Writes the export into ``out`` atomically; returns the paths written and the config.json of the
    earlier export it replaced (None if there was none).

    ``out`` is checked again first (``check_target``: it may have changed while the run trained). Every file
    is written and flushed to disk in a temporary folder beside ``out``, which is then renamed to ``out``;
    an earlier export there is moved aside first and deleted once the new one is in place. On any failure
    the temporary folder and the parent folders made for it are removed, and ``out`` is as it was.
    """
    earlier = check_target(out)
    target = Path(os.path.abspath(out)).resolve()
    made: list[Path] = []
    tmp = aside = None
    emptied = False
    try:
        _make_parents(target.parent, made)
        tmp = _fresh_dir(target.parent, target.name, "partial")
        names = []
        for name, data in files(results):
            _write_file(tmp / name, data)
            names.append(name)
        _sync_dir(tmp)
        if earlier is not None:
            aside = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
            os.rename(target, aside)
        elif target.exists():
            target.rmdir()  # empty (check_target said so); not every system renames onto an empty folder
            emptied = True
        os.rename(tmp, target)
    except BaseException:
        if aside is not None and aside.exists() and not target.exists():
            os.rename(aside, target)
        if emptied and not target.exists():
            target.mkdir()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(made):
            _remove_if_empty(folder)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)  # only ever held an export's files
    _sync_dir(target.parent)
    return [target / name for name in names], earlier


def _fresh_dir(parent: Path, name: str, purpose: str) -> Path:
    """A new hidden folder in ``parent``, made with the permissions of any new folder (the umask's), unlike
    tempfile.mkdtemp's owner-only ones, since it becomes the export folder."""
    while True:
        path = parent / f".{name}.{secrets.token_hex(4)}.{purpose}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _sync_dir(folder: Path) -> None:
    """Makes a folder's new entries durable (POSIX; elsewhere folders cannot be opened for this)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_parents(folder: Path, made: list[Path]) -> None:
    """Creates ``folder`` and its missing parents, outermost first, adding each to ``made`` as it goes."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for f in reversed(missing):
        f.mkdir()
        made.append(f)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
