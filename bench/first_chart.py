"""The first minutes of a new visitor: the first chart of the story page and of the Overview, against
Streamlit's own one-chart app and against Streamlit drawing each page's own elements, measured in one run; and
how long a fresh server's warm-up takes.

    python3 bench/first_chart.py [--visits 7]

Streamlit runs none of the app's code before a first session opens it, so a fresh server's warm-up (the
story's runs, then the default configuration, app.server) starts with its first visitor. In order:

1. a fresh dashboard server and its first visitor, who opens the story page (/): that visitor's first chart,
   and the warm-up, from the visitor's arrival to the log line of the last run the server computes ahead;
2. once the warm-up has finished, the first new visitor of the Overview (/overview: that page's first run in
   the server's process) and a second new visitor of the story page; 1 and 2 on ``--fresh`` servers in turn,
   the last of which stays up for the rest;
3. one more new visitor of each page, whose messages (one script run's) are recorded: each page's *floor* is
   bench/replay_app.py sending them again, Streamlit drawing the same elements with none of the app's work;
4. bench/minimal_app.py (one small chart, nothing else), the baseline; the baseline and the two floors each on
   a server of their own, after one untimed visit; then ``--visits`` rounds, each a new visitor of the
   baseline, the story page, its floor, the Overview and its floor in turn, every server up: the medians, and
   their ratios to the baseline's median and to the page's floor.

A visit is a fresh browser context (nothing cached) at 1280 x 900; its time runs from ``page.goto`` to the
first Vega chart drawn. Writes bench/results/first_chart.md (this benchmark's own file: the machine, the date,
the command, the numbers).
"""
from __future__ import annotations

import argparse
import datetime
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.page_switch import CHART  # noqa: E402
from bench.serve import CHROMIUM, CHROMIUM_ARGS, server  # noqa: E402

OUT = ROOT / "bench" / "results" / "first_chart.md"
VIEWPORT = {"width": 1280, "height": 900}


def warm_lines() -> tuple[str, ...]:
    """The log lines (app.results.stored_work) of the last runs the server computes ahead: the story's map
    (app.story.warm's last job), then the default configuration as the server admits it (app.server)."""
    from app.results import admitted
    from core.config import ExperimentConfig

    config, _note, _refused = admitted(ExperimentConfig())
    return "story map at initialization: trained", f"run {config.run_id}: trained"


def log_time(line: str) -> float:
    """The epoch seconds of an initlab log line ("2026-12-07 06:19:35,151 initlab INFO: ...", local time)."""
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def warm_up_end(log: Path, lines: tuple[str, ...], timeout: float = 600) -> float:
    """The epoch seconds of the last of ``lines`` in the server's log, once all are there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        if "could not" in text:  # app.story.warm / app.server: a run computed ahead failed
            raise RuntimeError(f"the warm-up failed; the server's log:\n{text[-3000:]}")
        found = [next((x for x in text.splitlines() if line in x), None) for line in lines]
        if all(found):
            return max(log_time(x) for x in found)
        time.sleep(0.2)
    raise TimeoutError(f"the server's warm-up did not finish in {timeout:.0f} s; its log:\n{log.read_text()[-3000:]}")


def visit(browser, url: str, settle_after: bool = False, record: list | None = None) -> float:
    """Seconds from ``page.goto(url)`` to the first drawn chart, for a new visitor (a fresh browser context).
    ``settle_after``: stay until the page is whole. ``record``: gets the messages of the page's first script
    run, as received (the visit then stays until that run has ended)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        frames: list[bytes] = []
        if record is not None:
            page.on("websocket", lambda ws: ws.on("framereceived", lambda raw: frames.append(raw)))
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(CHART, timeout=300_000)
        seconds = time.perf_counter() - start
        if settle_after or record is not None:
            from bench.gallery import settle
            settle(page, timeout=300_000)
        if record is not None:
            for raw in frames:
                record.append(raw)
                if ForwardMsg.FromString(raw).WhichOneof("type") == "script_finished":
                    break
            else:
                raise RuntimeError(f"no end of the script run among the {len(frames)} messages of {url}")
        return seconds
    finally:
        context.close()


@contextmanager
def replay_server(recorded: list[bytes], path: Path):
    """A server of bench/replay_app.py sending ``recorded`` (kept at ``path``) to each visitor."""
    with open(path, "wb") as f:
        pickle.dump(recorded, f)
    os.environ["INITLAB_REPLAY"] = str(path)  # read by the server's process, which copies the environment
    try:
        with server(script="bench/replay_app.py") as (base, _):
            os.environ.pop("INITLAB_REPLAY")
            yield base
    finally:
        os.environ.pop("INITLAB_REPLAY", None)


def _kind(msg) -> str:
    kind = msg.WhichOneof("type")
    if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        return msg.delta.new_element.WhichOneof("type")
    return kind


def parts(recorded: list[bytes]) -> dict[str, list[bytes]]:
    """The floor's parts (``--parts``): the same messages without the sidebar's elements, and with the main
    area's only up to its first chart (the sidebar kept)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msgs = [ForwardMsg.FromString(raw) for raw in recorded]
    area = [m.metadata.delta_path[0] if m.WhichOneof("type") == "delta" else None for m in msgs]  # 0 main, 1 sidebar
    first = next(i for i, m in enumerate(msgs) if _kind(m) == "vega_lite_chart")
    return {"without the sidebar": [raw for raw, a in zip(recorded, area) if a != 1],
            "up to its first chart": [raw for i, (raw, a) in enumerate(zip(recorded, area)) if a != 0 or i <= first]}


def machine() -> str:
    """The CPU's model name and count, as other results files name their machine."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} CPUs"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def median_row(name: str, times: list[float], base: float, floor: float | None = None) -> str:
    m = statistics.median(times)
    return (f"| {name} | {m:.2f} | {', '.join(f'{t:.2f}' for t in times)} | {m / base:.2f} | "
            f"{f'{m / floor:.2f}' if floor else ''} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--visits", type=int, default=7, help="rounds of new visitors (baseline, story, its floor, "
                                                          "Overview, its floor)")
    ap.add_argument("--fresh", type=int, default=3, help="fresh servers, one after another, each timed from its "
                                                           "first visitor to the first visitors after its warm-up")
    ap.add_argument("--parts", action="store_true", help="also time two parts of each floor: without the "
                    "sidebar, and the main area only up to its first chart")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    lines = warm_lines()
    load_start = os.getloadavg()
    started = datetime.datetime.now()
    pages = {"story": "/", "overview": "/overview"}
    times: dict[str, list[float]] = {k: [] for k in ("baseline", "story", "story floor", "overview", "overview floor")}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw, ExitStack() as servers:
        tmp = Path(tmp)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        fresh: dict[str, list[float]] = {"first": [], "warm-up": [], "overview": [], "story": []}
        for i in range(args.fresh):  # the last fresh server stays up: the warm server below
            log = tmp / f"server{i}.log"
            own = ExitStack()
            app, _ = (servers if i == args.fresh - 1 else own).enter_context(server(log=log))
            with own:
                arrived = time.time()
                fresh["first"].append(visit(browser, f"{app}/", settle_after=True))
                fresh["warm-up"].append(warm_up_end(log, lines) - arrived)
                fresh["overview"].append(visit(browser, f"{app}/overview"))
                fresh["story"].append(visit(browser, f"{app}/"))
        urls = {"story": f"{app}/", "overview": f"{app}/overview"}
        for name, path in pages.items():
            recorded: list[bytes] = []
            visit(browser, f"{app}{path}", record=recorded)
            urls[f"{name} floor"] = servers.enter_context(replay_server(recorded, tmp / f"{name}.pkl"))
            for part, messages in (parts(recorded) if args.parts else {}).items():
                times[f"{name} floor, {part}"] = []
                urls[f"{name} floor, {part}"] = servers.enter_context(
                    replay_server(messages, tmp / f"{name} {part}.pkl"))
        urls["baseline"], _ = servers.enter_context(server(script="bench/minimal_app.py"))
        for name in times:
            if name not in pages:
                visit(browser, urls[name])  # each server's first session imports what its script needs
        for _round in range(args.visits):
            for name in times:
                times[name].append(visit(browser, urls[name]))
        browser.close()
    b = statistics.median(times["baseline"])
    floor = {name: statistics.median(times[f"{name} floor"]) for name in pages}
    command = ("python3 bench/first_chart.py" + (f" --visits {args.visits}" if args.visits != 7 else "")
               + (f" --fresh {args.fresh}" if args.fresh != 3 else "") + (" --parts" if args.parts else ""))

    def seconds(values: list[float], ratio: bool = False) -> str:
        m = statistics.median(values)
        each = ", ".join(f"{v:.2f}" for v in values)
        return f"{m:.2f} s{f' ({m / b:.2f}x the baseline below)' if ratio else ''}" + (
            f", median of {each}" if len(values) > 1 else "")
    report = [
        "# First chart for a new visitor (bench/first_chart.py)",
        "",
        f"`{command}` at commit {commit()}, {started:%Y-%m-%d %H:%M} to {datetime.datetime.now():%H:%M}, on "
        f"{machine()} (shared with other work), Python {platform.python_version()}; load average "
        f"{load_start[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end. Seconds from `page.goto` to the "
        "first Vega chart drawn, each visit a new browser context (nothing cached), at 1280 x 900.",
        "",
        f"## A fresh server ({args.fresh}, one after another)",
        "",
        f"- Its first visitor, on the story page (/): first chart after {seconds(fresh['first'])}. That visit "
        "starts the server's warm-up (Streamlit runs no app code before a first session): the imports, the "
        "training workers, the story's runs, then the default configuration.",
        f"- The warm-up: {seconds(fresh['warm-up'])}, from that visitor's arrival to the log line of the last run "
        "computed ahead.",
        f"- After the warm-up, the Overview's first visitor (the page's first run in the server's process): "
        f"{seconds(fresh['overview'], True)}; the story page's second visitor: {seconds(fresh['story'], True)}.",
        "",
        f"## The warm server: {args.visits} rounds, a new visitor of each in turn",
        "",
        "A page's floor: bench/replay_app.py sending the messages of one of the page's script runs again, so "
        "Streamlit draws the same elements (sidebar, charts, tables) with none of the app's work.",
        "",
        "| page | median (s) | all (s) | median / baseline's | median / the page's floor |",
        "|---|---:|---|---:|---:|",
        median_row("baseline: bench/minimal_app.py", times["baseline"], b),
        median_row("story page (/)", times["story"], b, floor["story"]),
        median_row("its floor", times["story floor"], b),
        median_row("Overview (/overview)", times["overview"], b, floor["overview"]),
        median_row("its floor", times["overview floor"], b),
        *[median_row(name, t, b) for name, t in times.items() if ", " in name],
        "",
        "Target: within 1.3x of the baseline. " + "; ".join(
            f"{label}: {statistics.median(times[name]) / b:.2f}x the baseline "
            f"({'met' if statistics.median(times[name]) / b <= 1.3 else 'missed'}), "
            f"{statistics.median(times[name]) / floor[name]:.2f}x its floor, which is itself "
            f"{floor[name] / b:.2f}x the baseline" for name, label in (("story", "story page"), ("overview", "Overview")))
        + ".",
    ]
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text("\n".join(report) + "\n")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
