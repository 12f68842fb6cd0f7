"""The README documents what the code does: every link key in the link tables, every frame's columns in the
CSV schema."""
import re
from pathlib import Path

from core import ExperimentConfig, run
from core.config import FIELDS, PAGE_KEYS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def test_every_link_key_is_in_the_readme_link_tables():
    links = _section("Links")
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", links, flags=re.M))
    assert set(FIELDS) | set(PAGE_KEYS) <= listed, sorted(set(FIELDS) | set(PAGE_KEYS) - listed)
    assert listed <= set(FIELDS) | set(PAGE_KEYS), sorted(listed - set(FIELDS) - set(PAGE_KEYS))


def test_every_frame_column_is_in_the_readme_csv_schema():
    schema = _section("CSV schema")
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", schema, flags=re.M))
    frames = run(ExperimentConfig(seeds=1, epochs=2, record_epochs=2, depth=2)).frames
    for name, df in frames.items():
        assert name in rows, f"frame {name} is not in the README's CSV schema"
        documented = {c.strip() for c in rows[name].replace("…", ",").split(",")}
        missing = [c for c in df.columns if c not in documented and not re.fullmatch(r"[a-z_]+_layer_\d+", c)]
        assert not missing, (name, missing)


def test_the_app_package_docstring_lists_each_of_its_modules():
    import app
    listed = set(re.findall(r"^- ``(\w+)``", app.__doc__, flags=re.M))
    here = Path(app.__file__).parent
    modules = {p.stem for p in here.glob("*.py") if p.stem != "__init__"}
    modules |= {p.parent.name for p in here.glob("*/__init__.py")}  # its packages
    assert listed == modules, (sorted(modules - listed), sorted(listed - modules))


def test_the_core_package_docstring_lists_each_of_its_folders_and_modules():
    import core
    here = Path(core.__file__).parent
    listed = set(re.findall(r"``(\w+)``", core.__doc__))
    folders = {p.parent.name for p in here.glob("*/__init__.py")}
    modules = {p.stem for p in here.glob("*.py") if not p.stem.startswith("_")}
    assert folders <= listed and modules <= listed, (sorted(folders - listed), sorted(modules - listed))


def test_core_never_imports_streamlit_or_the_app():
    """core/ is pure computation: no module in it, at any depth, imports streamlit or the app's glue."""
    import ast
    import core
    bad = []
    for path in Path(core.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            bad += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("streamlit", "app", "pages")]
    assert not bad, bad
