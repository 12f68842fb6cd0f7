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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (pytest.ini runs the suite on one process per CPU, ``--dist loadgroup``), each test file
    goes whole to one process, so a module's fixtures (a trained run, a server) are made once; both browser
    files go to the same process, so that two servers and two Chromiums never compete for the cores. Runs
    before xdist reads the groups."""
    for item in items:
        group = "browser" if item.get_closest_marker("browser") else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
