import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"


def browser_or_skip():
    """Browser tests skip where no Chromium is installed, except in CI, where that is a failure."""
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's 'chromium' package to run browser tests")


# Files that share trained runs in one process (tests/lesson_runs.py: each lesson on each data seed trains once)
# run in one group, so that no run trains twice. (test_core_restarts also reads the restarts lesson's runs, which
# are cheap; its module fixtures are not, and it runs beside these, as the fast tier's largest file.)
SHARED_RUNS = {path: "lesson runs" for path in ("tests/test_lessons.py", "tests/test_claims.py")}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (pytest.ini runs the suite on one process per CPU, ``--dist loadgroup``), each test file
    goes whole to one process, so a module's fixtures (a trained run, a server) are made once; both browser
    files go to the same process, so that two servers and two Chromiums never compete for the cores. Runs
    before xdist reads the groups.

    xdist hands the groups out in the order of the items (pytest.ini turns its own reordering, by number of
    tests, off): the longest first, so that no long group starts last and runs alone at the end. The browser
    group is the longest; then the files with the most tests marked slow."""
    def group(item) -> str:
        if item.get_closest_marker("browser"):
            return "browser"
        path = item.nodeid.split("::", 1)[0]
        return SHARED_RUNS.get(path, path)

    slow: dict[str, int] = {}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group(item)))
        slow[group(item)] = slow.get(group(item), 0) + bool(item.get_closest_marker("slow"))
    items.sort(key=lambda item: (group(item) != "browser", -slow[group(item)]))  # stable: file order kept within
