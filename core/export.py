"""Results -> files: one CSV per frame, config.json, weights.npz, or all in a zip.

Every exported frame gets a ``run_id`` column (a hash of the full query
string); config.json carries the same id and the query, so a CSV that has
travelled alone can still be matched to the configuration that made it.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd


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


def zip_bytes(results) -> bytes:
    buf = io.BytesIO()
    rid = results.config.run_id
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", config_json(results))
        for name, df in results.frames.items():
            zf.writestr(f"{name}.csv", csv_bytes(df, rid))
        zf.writestr("weights.npz", results.npz_bytes())
    return buf.getvalue()


def write_dir(results, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    rid = results.config.run_id
    for name, df in results.frames.items():
        path = out / f"{name}.csv"
        path.write_bytes(csv_bytes(df, rid))
        written.append(path)
    (out / "config.json").write_text(config_json(results))
    (out / "weights.npz").write_bytes(results.npz_bytes())
    return written + [out / "config.json", out / "weights.npz"]
