"""The dashboard in a real headless Chromium, on a freshly started server.

One `streamlit run dashboard.py` per module. Its very first browser session
opens a non-default link straight to a non-default page: that is the session
Streamlit's pages/ trap breaks (DESIGN.md, Known traps), so the tour of every
page through the sidebar must still show the linked configuration. Then:
a control changes the address bar, a CSV download reads back with pandas, a
garbage link shows warnings and no traceback, the lesson that explodes on
purpose shows its diverged markers, and a lesson link opens its configuration.

Screenshots of every page go to test-artifacts/screenshots/<page>.png and the
server log to test-artifacts/browser-server.log.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from app.registry import PAGES as PAGE_SPECS
from bench import serve
from core import ExperimentConfig, run
from core.lessons import BY_SLUG
from tests.conftest import browser_or_skip

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM_ARGS = serve.CHROMIUM_ARGS
VIEWPORT = {"width": 1500, "height": 1000}
LOAD_TIMEOUT = 120_000  # ms: a fresh server's first run imports everything and trains
RUN_TIMEOUT = 60_000  # ms: one training run of a small configuration

# Every value differs from its default, so Streamlit keeps each of them in the URL.
LINK_QUERY = ("v=1&dataset=circles&schemes=zeros&schemes=he_normal&seeds=2&depth=2&width=16&epochs=20"
              "&activation=relu")
LINK = ExperimentConfig.from_query(LINK_QUERY)
FIRST_PAGE = "activations"
# url path -> (nav label = page title, charts drawn, download buttons on the page: label -> frame); the paths
# and titles are app.registry's
EXPECT = {
    "overview": ("Overview", 1, {"Curves": "curves", "Summary": "summary"}),
    "activations": ("Activations", 3, {"Layer statistics": "layer_stats", "Histograms": "histograms"}),
    "gradients": ("Gradients", 3, {"Gradient norms": "gradient_norms", "Histograms": "histograms"}),
    "weights": ("Weight distances", 2, {"Unit distances": "unit_distances", "Distance from init": "init_distances"}),
    "symmetry": ("Symmetry & restarts", 2, {"Distinct units": "distinct_units", "Summary": "summary"}),
    "boundaries": ("Decision boundaries", 1, {"Boundaries": "boundaries", "Data points": "data_points"}),
    "lessons": ("Lessons", 0, {}),
    "export": ("Export", 0, None),  # one button per frame, checked separately
}
PAGES = {p.path: (p.title, *EXPECT[p.path][1:]) for p in PAGE_SPECS}
assert all(EXPECT[p][0] == PAGES[p][0] for p in PAGES), "titles in EXPECT differ from app.registry's"


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def server():
    """A freshly started dashboard server: {"base": url, "log": its stdout+stderr, "chromium": path}."""
    chromium = browser_or_skip()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):  # only this run's pictures
        old.unlink()
    log_path = ARTIFACTS / "browser-server.log"
    with serve.server(log=log_path) as (base, _):
        yield {"base": base, "log": log_path, "chromium": chromium}


@pytest.fixture(scope="module")
def browser(server):
    # Playwright gives the launched browser its own temporary profile; every new_context() below is a
    # separate cookie jar, hence a separate Streamlit session.
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=server["chromium"], args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def first_session(server, browser):
    """The very first browser session on the fresh server: a deep link with non-default parameters.

    Every other test depends on this fixture, so whatever subset runs, this link is opened first.
    """
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server['base']}/{FIRST_PAGE}?{LINK_QUERY}")
    wait_ready(page, PAGES[FIRST_PAGE][0], timeout=LOAD_TIMEOUT)
    yield page
    context.close()


@pytest.fixture
def open_link(server, browser, first_session):
    """Open a path + query in a new browser session (a new context); closes them at the end of the test."""
    contexts = []

    def _open(path_and_query: str, title: str) -> Page:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{server['base']}/{path_and_query.lstrip('/')}")
        wait_ready(page, title, timeout=LOAD_TIMEOUT)
        return page

    yield _open
    for c in contexts:
        c.close()


@pytest.fixture(scope="module")
def frames():
    """The frames of the linked configuration, from the core API: what every page must be drawing."""
    return run(LINK).frames


# ------------------------------------------------------------------ helpers
def wait_ready(page: Page, title: str, timeout: int = RUN_TIMEOUT) -> None:
    """Wait until the page titled `title` has finished its script run and shows no stale element."""
    expect(page.locator("h1").filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))).to_be_visible(
        timeout=timeout)
    settled = """() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'
                       && !document.querySelector('[data-stale=true]')"""
    page.wait_for_function(settled, timeout=timeout, polling=200)
    page.wait_for_timeout(400)  # a rerun requested at the end of a run (a URL rewrite) starts now: re-check
    page.wait_for_function(settled, timeout=timeout, polling=200)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    # Streamlit answers an unknown path (e.g. "/overview" for the default page) with this dialog
    expect(page.get_by_text("Page not found")).to_have_count(0)


def wait_charts(page: Page, n: int) -> None:
    charts = page.locator("[data-testid=stVegaLiteChart]")
    expect(charts).to_have_count(n, timeout=RUN_TIMEOUT)
    for i in range(n):  # each one actually drawn by Vega
        expect(charts.nth(i).locator("canvas, svg").first).to_be_attached(timeout=RUN_TIMEOUT)


def goto_via_sidebar(page: Page, title: str) -> None:
    page.locator("[data-testid=stSidebarNav] a").filter(has_text=title).click()
    wait_ready(page, title)


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query, keep_blank_values=True)


def eventually(read, expected=None, ok=None, timeout: float = 15.0):
    """Poll read() until it returns `expected` (or ok(value) holds, or time runs out); return its last value.

    The browser paints a finished script run a moment after it reports it (the multiselect's tags,
    for one, come a few frames later), so reads of rendered content must wait for it.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if (ok(value) if ok else value == expected) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def selected_schemes(page: Page) -> list[str]:
    tags = page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect]").first.locator("[data-tag]")
    return [t.get_attribute("aria-label") for t in tags.all()]


def expect_sidebar_value(page: Page, label: str, value: str) -> None:
    """A sidebar input's value, also when its expander is collapsed (hidden, so not found by role)."""
    expect(page.locator(f'[data-testid=stSidebar] input[aria-label="{label}"]')).to_have_value(value)


def download_rows(page: Page) -> dict[str, int]:
    """Download button label -> the row count it announces, e.g. 'Curves (CSV, 168 rows)'."""
    out = {}
    for text in page.locator("[data-testid=stDownloadButton]").all_inner_texts():
        m = re.search(r"⬇\s*(.+?) \(CSV, ([\d,]+) rows\)", text)
        if m:
            out[m.group(1)] = int(m.group(2).replace(",", ""))
    return out


def summary_table(page: Page) -> pd.DataFrame:
    """The Overview summary table as text, read from the data grid's accessible cells."""
    grid = page.locator("[data-testid=stDataFrame]").first
    expect(grid.locator("[role=gridcell]").first).to_be_attached(timeout=RUN_TIMEOUT)

    def read():
        header = [h.strip() for h in grid.locator("[role=columnheader]").all_inner_texts()]
        rows = [cells for row in grid.locator("[role=row]").all()
                if (cells := [c.strip() for c in row.locator("[role=gridcell]").all_inner_texts()])]
        return header, rows

    header, rows = read()
    deadline = time.monotonic() + 15
    while not (rows and all(len(r) == len(header) for r in rows)) and time.monotonic() < deadline:
        time.sleep(0.2)  # still painting
        header, rows = read()
    assert rows and all(len(r) == len(header) for r in rows), (header, rows)
    return pd.DataFrame(rows, columns=header)


def screenshot(page: Page, name: str) -> None:
    """Full picture of the page: Streamlit scrolls inside its main block, so grow the viewport to fit it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("""() => Math.max(document.querySelector('[data-testid=stMain]')?.scrollHeight || 0,
                                             document.querySelector('[data-testid=stSidebarContent]')?.scrollHeight || 0,
                                             document.body.scrollHeight)""")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": int(min(max(height + 40, VIEWPORT["height"]), 9000))})
    page.wait_for_timeout(600)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(VIEWPORT)


def alerts(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=stAlert]").all_inner_texts()]


def link_warnings(page: Page) -> list[str]:
    return [w for w in alerts(page) if "Link parameter ignored" in w]


# ------------------------------------------------------------------ tests
def test_first_session_deep_link_survives_every_page(first_session, frames):
    page = first_session
    linked = parse_qs(LINK_QUERY)
    order = [FIRST_PAGE] + [p for p in PAGES if p != FIRST_PAGE] + [FIRST_PAGE]
    seen = set()
    for i, path in enumerate(order):
        title, n_charts, downloads = PAGES[path]
        if i:
            goto_via_sidebar(page, title)
            # the default page is served at "/", every other page at its own path
            assert urlparse(page.url).path in ({f"/{path}", "/"} if path == "overview" else {f"/{path}"}), page.url
        where = f"on {title} ({page.url})"
        # the address bar still holds exactly the link (every linked value differs from its default)
        assert eventually(lambda: query(page), linked) == linked, where
        # the sidebar shows it
        assert eventually(lambda: selected_schemes(page), ["zeros", "he_normal"]) == ["zeros", "he_normal"], where
        for label, value in [("Seeds per scheme", "2"), ("Hidden layers", "2"), ("Epochs", "20"), ("Width", "16")]:
            expect_sidebar_value(page, label, value)
        assert not alerts(page), f"unexpected warnings {where}: {alerts(page)}"
        # and the page content was computed from it
        wait_charts(page, n_charts)
        if downloads:
            rows = {label: len(frames[f]) for label, f in downloads.items()}
            assert eventually(lambda: download_rows(page), rows) == rows, where
        if path == "overview":
            table = eventually(lambda: summary_table(page), ok=lambda t: t["scheme"].tolist() == ["zeros", "he_normal"])
            assert table["scheme"].tolist() == ["zeros", "he_normal"], where
            assert table["seeds"].tolist() == ["2", "2"], where
            assert "fewest distinct hidden units" in table.columns
            assert page.get_by_text("diverged at epoch").count() == 0
        elif path == "activations":
            # ReLU has a closed-form variance prediction; the default tanh would say there is none
            expect(page.get_by_text("½ for ReLU", exact=False)).to_be_visible()
        elif path in ("weights", "boundaries"):
            # the epoch slider starts at the last recorded epoch: 20 here, 100 by default
            expect(page.locator("[data-testid=stSliderThumbValue]").first).to_have_text("20")
        elif path == "export":
            code = page.locator("[data-testid=stCode]").first.inner_text().strip()
            # the share link: the default page lives at "/" (a "/overview" link would get "Page not found")
            assert code == f"{urlparse(page.url).scheme}://{urlparse(page.url).netloc}/?{LINK.to_query()}", code
            rows = {name: len(df) for name, df in frames.items()}
            assert eventually(lambda: download_rows(page), rows) == rows, where
        elif path == "lessons":
            expect(page.get_by_text("Open this lesson")).to_have_count(len(BY_SLUG))
        if path not in seen:
            screenshot(page, path)
            seen.add(path)
    assert seen == set(PAGES)
    assert {f"{p}.png" for p in PAGES} <= {p.name for p in SHOTS.glob("*.png")}


def test_changing_a_control_changes_the_address_bar(open_link):
    page = open_link(f"?{LINK_QUERY}", "Overview")
    seeds = page.locator("[data-testid=stSidebar]").get_by_role("spinbutton", name="Seeds per scheme", exact=True)
    seeds.fill("4")
    seeds.press("Enter")
    page.wait_for_url(re.compile(r"[?&]seeds=4(&|$)"), timeout=RUN_TIMEOUT)
    wait_ready(page, "Overview")
    q = query(page)
    assert q["seeds"] == ["4"] and q["dataset"] == ["circles"] and q["schemes"] == ["zeros", "he_normal"], q
    expect(page.locator("[data-testid=stDownloadButton]").filter(has_text="Summary")).to_contain_text(
        "(CSV, 8 rows)", timeout=RUN_TIMEOUT)  # 2 schemes x 4 seeds, retrained

    page.locator("[data-testid=stSidebar] [data-testid=stExpander]").filter(has_text="Data").locator("summary").click()
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").filter(has_text="Dataset").click()
    page.get_by_role("option", name="xor", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]dataset=xor(&|$)"), timeout=RUN_TIMEOUT)
    wait_ready(page, "Overview")
    q = query(page)
    assert q["dataset"] == ["xor"] and q["seeds"] == ["4"] and q["schemes"] == ["zeros", "he_normal"], q
    wait_charts(page, 1)


def test_csv_download_reads_back_with_the_linked_schemes(open_link, frames, tmp_path):
    page = open_link(f"?{LINK_QUERY}", "Overview")
    button = page.locator("[data-testid=stDownloadButton]").filter(has_text="Curves").get_by_role("button")
    with page.expect_download(timeout=RUN_TIMEOUT) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == f"initlab_curves_{LINK.run_id}.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    df = pd.read_csv(path)
    assert list(df.columns) == ["run_id", "scheme", "seed", "epoch", "split", "loss", "accuracy"]
    assert set(df["run_id"]) == {LINK.run_id}
    assert df["scheme"].unique().tolist() == ["zeros", "he_normal"]
    assert sorted(df["seed"].unique()) == [0, 1]
    assert df["epoch"].max() == 20
    # the same numbers as the core API computes for this configuration
    expected = frames["curves"].reset_index(drop=True)
    pd.testing.assert_frame_equal(df.drop(columns="run_id"), expected, check_dtype=False, rtol=1e-6)

    goto_via_sidebar(page, "Export")
    with page.expect_download(timeout=RUN_TIMEOUT) as info:
        page.locator("[data-testid=stDownloadButton]").filter(has_text="config.json").get_by_role("button").click()
    config = json.loads(Path(info.value.path()).read_text())
    assert config["run_id"] == LINK.run_id
    assert ExperimentConfig.from_query(config["query"]) == LINK

    # the "share this configuration" link opens the same configuration in a new session
    share = page.locator("[data-testid=stCode]").first.inner_text().strip()
    shared = page.context.new_page()
    shared.goto(share)
    wait_ready(shared, "Overview", timeout=LOAD_TIMEOUT)
    assert ExperimentConfig.from_query(urlparse(shared.url).query) == LINK
    assert eventually(lambda: selected_schemes(shared), ["zeros", "he_normal"]) == ["zeros", "he_normal"]


def test_garbage_link_warns_and_falls_back(open_link):
    page = open_link("?depth=999&lr=abc&schemes=nonsense&schemes=he_normal&bogus=1&dataset=mnist", "Overview")
    warnings = eventually(lambda: link_warnings(page), ok=lambda w: len(w) >= 5)
    for param, value in [("depth", "999"), ("lr", "abc"), ("schemes", "nonsense"), ("bogus", None),
                         ("dataset", "mnist")]:
        named = [w for w in warnings if re.search(rf"— {param}:", w) and (value is None or value in w)]
        assert named, f"no warning names {param}={value}: {warnings}"
    assert len(warnings) == 5, warnings
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    # the valid part of the link is kept, the rest falls back to the defaults
    assert eventually(lambda: selected_schemes(page), ["he_normal"]) == ["he_normal"]
    assert query(page) == {"v": ["1"], "schemes": ["he_normal"]}
    expect_sidebar_value(page, "Hidden layers", "3")
    expect_sidebar_value(page, "Learning rate", "0.1")
    expect_sidebar_value(page, "Seeds per scheme", "3")
    wait_charts(page, 1)
    assert eventually(lambda: summary_table(page)["scheme"].tolist(), ["he_normal"]) == ["he_normal"]
    screenshot(page, "garbage-link")
    # the warnings stay for the session, and other pages draw too
    goto_via_sidebar(page, "Activations")
    assert len(eventually(lambda: link_warnings(page), ok=lambda w: len(w) == 5)) == 5
    wait_charts(page, 3)


def test_exploding_lesson_shows_diverged_markers(open_link):
    lesson = BY_SLUG["vanish-explode"]
    title = PAGES[lesson.page][0]
    page = open_link(f"{lesson.page}?{lesson.query}", title)
    wait_charts(page, PAGES[lesson.page][1])
    assert ExperimentConfig.from_query(urlparse(page.url).query) == lesson.config
    goto_via_sidebar(page, "Overview")
    expect(page.get_by_text("diverged at epoch").first).to_be_visible()
    warning = " ".join(eventually(lambda: alerts(page), ok=lambda a: any("diverged at epoch" in w for w in a)))
    assert re.search(r"normal:std=1 seed 0: diverged at epoch \d+", warning), warning
    assert "he_normal seed" not in warning, warning
    wait_charts(page, 1)
    table = eventually(lambda: summary_table(page), ok=lambda t: len(t) == 3).set_index("scheme")
    assert table.loc["normal:std=1", "diverged"] == "2" and table.loc["he_normal", "diverged"] == "0"
    screenshot(page, "lesson-vanish-explode")
    with page.expect_download(timeout=RUN_TIMEOUT) as info:
        page.locator("[data-testid=stDownloadButton]").filter(has_text="Summary").get_by_role("button").click()
    summary = pd.read_csv(info.value.path())
    exploded = summary[summary["scheme"] == "normal:std=1"]
    assert exploded["status"].str.match(r"diverged at epoch \d+").all(), exploded["status"].tolist()
    assert summary[summary["scheme"] == "he_normal"]["diverged_epoch"].isna().all()


def test_lesson_link_opens_its_configuration(open_link):
    lesson = BY_SLUG["vanish-explode"]
    page = open_link(f"lessons?{LINK_QUERY}", "Lessons")
    card = page.locator("[data-testid=stVerticalBlock]").filter(
        has=page.get_by_role("heading", name=lesson.title)).last
    # every lesson links to a page the app serves (the default page only at "/")
    served = {"/"} | {f"/{p}" for p in PAGES if p != "overview"}
    hrefs = [a.get_attribute("href") for a in page.get_by_role("link", name=re.compile("Open this lesson")).all()]
    assert len(hrefs) == len(BY_SLUG) and all(urlparse(h).path in served for h in hrefs), hrefs
    link = card.get_by_role("link", name=re.compile("Open this lesson"))
    with page.context.expect_page(timeout=RUN_TIMEOUT) as info:
        link.click()
    lesson_page = info.value
    wait_ready(lesson_page, PAGES[lesson.page][0], timeout=LOAD_TIMEOUT)
    assert urlparse(lesson_page.url).path == f"/{lesson.page}"
    assert ExperimentConfig.from_query(urlparse(lesson_page.url).query) == lesson.config
    schemes = list(lesson.config.schemes)
    assert eventually(lambda: selected_schemes(lesson_page), schemes) == schemes
    expect_sidebar_value(lesson_page, "Hidden layers", str(lesson.config.depth))
    wait_charts(lesson_page, PAGES[lesson.page][1])


def test_closing_a_tab_stops_its_run(server, browser, first_session):
    """A closed tab's run stops (the server log says so) instead of training on for nobody."""
    from core import budget
    from core.config import replace

    base = replace(LINK, n_samples=2000, data_seed=7)  # a run of tens of seconds, admitted by the budget
    long = next(c for c in (replace(base, epochs=e) for e in (5000, 3000, 2000, 1000))
                if budget.estimate(c).seconds <= 0.8 * budget.PUBLIC.seconds)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{server['base']}/?{long.to_query()}")
    log = server["log"]
    deadline = time.monotonic() + LOAD_TIMEOUT / 1000
    while f"run {long.run_id} (" not in log.read_text():
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.2)
    context.close()
    deadline = time.monotonic() + 60
    while f"run {long.run_id}: stopped" not in log.read_text():
        assert time.monotonic() < deadline, "the closed tab's run was not stopped"
        time.sleep(0.2)
    assert f"run {long.run_id}: trained" not in log.read_text()


def test_server_log_has_no_traceback(server, first_session):
    text = Path(server["log"]).read_text()
    assert "Traceback" not in text, text[-3000:]
