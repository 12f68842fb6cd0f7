"""Does Streamlit's ``runner.postScriptGC = false`` make app.server's ``gc.freeze`` unnecessary?

    python3 bench/gc_freeze.py

Four fresh processes, each the four combinations of postScriptGC (on, Streamlit's default / off) and freezing
(as app.server.freeze_long_lived does / not): the dashboard's first runs through AppTest (its imports), then 8
new links (a new data seed each: a new training) times 4 pages. AppTest's runner skips the collection
Streamlit's ScriptRunner makes after each run when postScriptGC is on, so this makes it (``gc.collect(2)``)
after each run. Every full (generation 2) collection, ours or Python's own, is timed; ``walked`` is the
number of objects a full collection walks at the end.
"""
from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = str(ROOT / "dashboard.py")
SMALL = [("seeds", "1"), ("epochs", "10"), ("width", "8")]


def one(post_gc: bool, freeze: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest
    full, start = [], {}

    def timed(phase, info):
        if info["generation"] == 2:
            if phase == "start":
                start["t"] = time.perf_counter()
            else:
                full.append(time.perf_counter() - start["t"])

    def visit(data_seed: int) -> None:
        at = AppTest.from_file(DASHBOARD, default_timeout=300)
        for key, value in SMALL + [("data_seed", str(data_seed))]:
            at.query_params[key] = value
        at.run()
        for page in (None, "activations", "gradients", "weights"):
            if page:
                at.switch_page(f"pages/{page}.py").run()
            if post_gc:
                gc.collect(2)

    visit(100)  # the imports
    if freeze:
        gc.collect()
        gc.freeze()
    gc.callbacks.append(timed)
    t0 = time.perf_counter()
    for seed in range(8):
        visit(seed)
    wall = time.perf_counter() - t0
    gc.callbacks.remove(timed)
    return {"postScriptGC": post_gc, "freeze": freeze, "runs": 32, "full_collections": len(full),
            "full_s": round(sum(full), 3), "longest_ms": round(1000 * max(full, default=0), 1),
            "walked": len(gc.get_objects()), "wall_s": round(wall, 2)}


def main() -> int:
    if len(sys.argv) == 3:
        print(json.dumps(one(sys.argv[1] == "on", sys.argv[2] == "freeze")))
        return 0
    with open("/proc/loadavg") as f:
        print("load average", " ".join(f.read().split()[:3]))
    print("postScriptGC freeze  full collections  their total s  longest ms  objects walked  wall s")
    for post_gc in ("on", "off"):
        for freeze in ("freeze", "no"):
            out = subprocess.run([sys.executable, __file__, post_gc, freeze], capture_output=True, text=True,
                                 check=True, cwd=ROOT).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            print(f"{post_gc:<12} {freeze:<6} {r['full_collections']:16d} {r['full_s']:14.3f} "
                  f"{r['longest_ms']:11.1f} {r['walked']:15,d} {r['wall_s']:7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
