"""The structure holds: layer contracts (import-linter), argparse only in the front ends, one OpenCV wheel."""

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "gfpgan_core"


def test_import_layers_are_kept():
    """pyproject.toml's contracts: no circle, no arrow from a lower layer up, research code aside."""
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install -r requirements-dev.txt)")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "0 broken" in proc.stdout


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_front_ends_know_argparse():
    """The CLI's commands, the app's server, and the arguments both declare (arguments.py)."""
    front_ends = ("cli/", "web/server.py", "arguments.py")
    offenders = [
        str(p.relative_to(REPO))
        for p in PACKAGE.rglob("*.py")
        if not p.relative_to(PACKAGE).as_posix().startswith(front_ends) and "argparse" in _imports(p)
    ]
    assert offenders == []


def test_the_inference_path_imports_no_research_or_ui_code():
    research = ("training", "evaluation", "metrics", "losses", "degradation")
    unwanted = (*(f"gfpgan_core.{m}" for m in research), "gradio", "huggingface_hub", "facexlib")
    code = (
        "import sys, gfpgan_core, gfpgan_core.service, gfpgan_core.cli; "
        f"bad = [m for m in {unwanted!r} if m in sys.modules]; assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_one_opencv_wheel():
    """opencv-python and opencv-python-headless write the same cv2/ folder: only the first may be installed."""
    installed = {d.metadata["Name"].lower() for d in importlib.metadata.distributions()}
    assert "opencv-python" in installed and "opencv-python-headless" not in installed
    import cv2

    assert cv2.imdecode is not None


def test_the_readme_layout_names_every_module():
    """docs/layout.md lists every module (by file name) with its role."""
    layout = (REPO / "docs" / "layout.md").read_text()
    missing = [
        str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" and p.name not in layout
    ]
    assert missing == []


def test_every_environment_variable_the_app_reads_is_documented():
    """docs/security.md's table names each variable the server reads, with the limits' defaults as written; and
    every variable the app's code reads by name is in that list."""
    import re

    from gfpgan_core.web.server import environment_variables

    listed = environment_variables()
    app_code = [REPO / "app.py", PACKAGE / "arguments.py", *(PACKAGE / "web").glob("*.py")]
    read = {m for p in app_code for m in re.findall(r"environ(?:\.get\(|\[|\.setdefault\()\"(\w+)\"", p.read_text())}
    assert read - set(listed) == set() and len(read) >= 5  # (the limits and flags are read through their tables)
    readme = (REPO / "docs" / "security.md").read_text()
    for name, default in environment_variables().items():
        row = next((line for line in readme.splitlines() if line.startswith("|") and f"`{name}`" in line), None)
        assert row is not None, f"{name} is not in docs/security.md's table"
        if default not in (None, ""):  # "": none, in words
            assert f"`{default}`" in row, (name, default, row)
