"""The fresh-machine path: the requirements files name every distribution the code, the tests and the
benchmarks import.

A machine that happens to have a package hides a requirement nobody listed (bench/serve.py imported psutil
for months while no file named it: a clean virtual environment stopped at test collection). So this reads
every import in the repository with ``ast``, maps each third-party module to the distribution installed for
it, and checks that the requirements file that must provide it names it:

- the app (dashboard.py, app/, pages/, core/), what runs on import: requirements.txt, which is all that
  Streamlit Community Cloud installs;
- any other import in the app or the tests: requirements-dev.txt (the README's test command installs it);
- bench/: requirements-dev.txt or bench/requirements.txt (PyTorch, bench only and optional).

.ci/run then runs the whole suite in a clean virtual environment built from these files alone, where this
test also imports every one of those modules.
"""
from __future__ import annotations

import ast
import importlib
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # reads every file's imports and imports each module
ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "requirements.txt"
DEV = ROOT / "requirements-dev.txt"
BENCH = ROOT / "bench" / "requirements.txt"
APP_CODE = ("dashboard.py", "app", "pages", "core")


def normalize(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503): case, '-', '_' and '.' do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> set[str]:
    """The distributions a requirements file names, following its ``-r other.txt`` lines."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            names |= requirement_names(path.parent / line.split(maxsplit=1)[1])
            continue
        assert not line.startswith("-"), f"{path.name}: option {line!r}: keep these files to names and -r lines"
        names.add(normalize(re.match(r"[A-Za-z0-9._-]+", line).group()))
    return names


def python_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not any(part.startswith(".") for part in p.relative_to(ROOT).parts))


def local_modules() -> set[str]:
    """Top-level names that are this repository's own: its folders of Python files, its root modules, and the
    test modules that import each other (conftest)."""
    folders = {p.relative_to(ROOT).parts[0] for p in python_files() if len(p.relative_to(ROOT).parts) > 1}
    return folders | {p.stem for p in ROOT.glob("*.py")} | {p.stem for p in (ROOT / "tests").glob("*.py")}


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(top-level module, line, runs when the file is imported) of every absolute import in ``path``."""
    found = []

    def visit(node, on_import: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((a.name.split(".")[0], child.lineno, on_import) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0:
                found.append((child.module.split(".")[0], child.lineno, on_import))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, False)
            elif isinstance(child, ast.If) and "__name__" in ast.unparse(child.test):
                visit(child, False)  # if __name__ == "__main__": runs as a script, not on import
            else:
                visit(child, on_import)

    visit(ast.parse(path.read_text(), str(path)), True)
    return found


def third_party_imports() -> list[tuple[str, str, bool]]:
    """(module, 'path:line', runs on import) for every import of a module neither standard nor ours."""
    ours = local_modules()
    out = []
    for path in python_files():
        rel = path.relative_to(ROOT).as_posix()
        for module, line, on_import in imports(path):
            if module not in sys.stdlib_module_names and module not in ours and module != "__future__":
                out.append((module, f"{rel}:{line}", on_import))
    return out


def required_by(where: str, on_import: bool) -> tuple[Path, ...]:
    """The requirements files any one of which may provide a module imported at ``where``."""
    if where.startswith("bench/"):
        return DEV, BENCH
    if where.split("/")[0].split(":")[0] in APP_CODE and on_import:
        return (APP,)
    return (DEV,)


def test_every_imported_distribution_is_named_by_the_requirements_file_that_must_install_it():
    installed = importlib.metadata.packages_distributions()
    problems = []
    for module, where, on_import in third_party_imports():
        files = required_by(where, on_import)
        named = set().union(*(requirement_names(f) for f in files))
        dists = {normalize(d) for d in installed.get(module, [])}
        listed = " or ".join(f.relative_to(ROOT).as_posix() for f in files)
        if not dists:
            if normalize(module) not in named:
                problems.append(f"{where}: imports {module}, which is not installed here and not in {listed}")
        elif not dists & named:
            problems.append(f"{where}: imports {module}, from {', '.join(sorted(dists))}, which {listed} "
                            f"does not name")
    assert not problems, "\n".join(problems)


def test_every_third_party_module_the_code_and_tests_import_imports_here():
    """Trivial on a machine that has everything; in .ci/run's clean environment it is the proof."""
    bench_only = requirement_names(BENCH) - requirement_names(DEV)
    modules = sorted({m for m, _, _ in third_party_imports()} - {m for m in bench_only})
    for module in modules:
        importlib.import_module(module)


def test_the_checks_above_see_what_they_must():
    """Guards the test against reading nothing: the imports it finds include known ones of each kind."""
    found = {(m, w.split(":")[0], on_import) for m, w, on_import in third_party_imports()}
    assert ("psutil", "bench/serve.py", True) in found
    assert ("torch", "bench/run.py", False) in found
    assert ("pyarrow", "tests/test_app.py", True) in found
    assert ("sklearn", "core/restarts.py", True) in found
    assert ("sklearn", "core/datasets.py", False) in found  # imported when data is made
    assert not any(m in ("core", "app", "bench", "conftest", "os", "json") for m, _, _ in found)
    assert {"streamlit", "numpy", "scikit-learn"} <= requirement_names(APP) <= requirement_names(DEV)
    assert "torch" in requirement_names(BENCH) - requirement_names(DEV)
    assert required_by("core/config.py:3", True) == (APP,) and required_by("core/i18n.py:9", False) == (DEV,)
