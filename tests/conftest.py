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
