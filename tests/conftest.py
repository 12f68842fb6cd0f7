import os
import shutil
from pathlib import Path

import pytest


def pytest_configure(config):
    """Each pytest-xdist process runs BLAS on its share of the CPUs (one thread when pytest.ini runs one process
    per CPU), as scikit-learn's own conftest.py does: two BLAS threads in each of two processes oversubscribe two
    cores, and a thread then waits for a core while its partner spins (bench/results/init_threads.md). The
    numbers never depend on the count (core.runtime.blas). Tests of the code that sets the count set a count of
    their own first. Without xdist (``-n 0``), and in the processes the tests start (the dashboard server, the
    command line), BLAS keeps its own default."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers is None:
        return
    # Load the BLAS libraries now (NumPy's, and SciPy's own copy, which scikit-learn uses): threadpoolctl limits
    # only the libraries already loaded, and pytest imports the tests after this hook.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    from core.runtime.blas import cpu_count
    threadpool_limits(limits=max(1, cpu_count() // int(workers)), user_api="blas")


CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def browser_or_skip():
    """Browser tests skip where no Chromium is installed, except in CI, where that is a failure."""
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's 'chromium' package to run browser tests")


@pytest.fixture(scope="session")
def server():
    """The one dashboard server every browser test uses: {"base": url, "log": its stdout+stderr, "chromium":
    path}. Freshly started once per session: each start warms the landing page's runs and the default run again,
    on the cores the tests share. Its first visitor is tests/test_browser.py's first session (the browser group
    runs that file first: ``pytest_collection_modifyitems``). Its log: test-artifacts/browser-server.log; a
    page that fails a check leaves its picture in test-artifacts/screenshots/ (only this run's pictures)."""
    from bench import serve

    chromium = browser_or_skip()
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.rglob("*.png"):
        old.unlink()
    log = ARTIFACTS / "browser-server.log"
    with serve.server(log=log) as (base, _):
        yield {"base": base, "log": log, "chromium": chromium}


@pytest.fixture(scope="session")
def browser(server):
    """One headless Chromium for every browser test. Playwright gives it its own temporary profile; every
    new_context() is a separate cookie jar, hence a separate Streamlit session."""
    from playwright.sync_api import sync_playwright

    from bench import serve

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=server["chromium"], args=serve.CHROMIUM_ARGS)
        yield b
        b.close()


# Files that share what they compute in one process run in one group, so that nothing is computed twice:
# - "lesson runs": tests/lesson_runs.py trains each lesson once on each data seed, for test_lessons and
#   test_claims. (test_core_restarts also reads the restarts lesson's runs, which are cheap; its module fixtures
#   are not, and it runs beside these, as the fast tier's largest file.)
# - "app tours": an AppTest session computes the landing page's runs once per process (app.story.KEPT, as a
#   server does for its visitors); test_app, test_i18n and test_story each open the landing page.
SHARED = {**{f"tests/{name}.py": "lesson runs" for name in ("test_lessons", "test_claims")},
          **{f"tests/{name}.py": "app tours" for name in ("test_app", "test_i18n", "test_story")}}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (pytest.ini runs the suite on one process per CPU, ``--dist loadgroup``), each test file
    goes whole to one process, so a module's fixtures (a trained run) are made once; every browser test goes to
    the same process, where the session's one server and one Chromium serve them all. Runs before xdist reads
    the groups.

    xdist hands the groups out in the order of the items (pytest.ini turns its own reordering, by number of
    tests, off): the longest first, so that no long group starts last and runs alone at the end. The browser
    group is the longest; then the files with the most tests marked slow."""
    def group(item) -> str:
        if item.get_closest_marker("browser"):
            return "browser"
        path = item.nodeid.split("::", 1)[0]
        return SHARED.get(path, path)

    slow: dict[str, int] = {}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group(item)))
        slow[group(item)] = slow.get(group(item), 0) + bool(item.get_closest_marker("slow"))
    items.sort(key=lambda item: (group(item) != "browser", -slow[group(item)]))  # stable: file order kept within
