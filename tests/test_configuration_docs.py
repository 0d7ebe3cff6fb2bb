"""docs/configuration.md lists exactly the environment variables the platform reads."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
# Code that reads the environment: the apps, the process launchers, gunicorn's config.
SOURCES = [
    *(p for app in ("config", "tenants", "accounts", "documents", "search", "queries",
                    "analytics", "operators") for p in (ROOT / app).rglob("*.py")),
    ROOT / "deploy" / "gunicorn.conf.py",
]  # fmt: skip
# Read but not for operators: set by the test runner or for a library by our own code.
INTERNAL = {
    "DJANGO_SETTINGS_MODULE": "Django's own, set by manage.py and the processes",
    "DI_TESTING": "set by the test runner",
    "HF_HUB_OFFLINE": "set by the local embedder so the model never goes online",
    "TRANSFORMERS_OFFLINE": "likewise",
    "TOKENIZERS_PARALLELISM": "set by the local embedder (forked workers)",
}
_RECEIVERS = {"env", "os.environ", "environ", "os"}  # env.int(...), os.environ.get(...), ...
_FUNCTIONS = {"env_list", "env_path"}
_METHODS = {"str", "int", "bool", "float", "db_url", "list", "get", "getenv", "setdefault"}


def _variable_read(node: ast.Call) -> str | None:
    """The variable name a call such as env.int("NAME") or os.environ.get("NAME") reads."""
    func = node.func
    if isinstance(func, ast.Attribute):
        reader = func.attr in _METHODS and ast.unparse(func.value) in _RECEIVERS
    else:
        reader = isinstance(func, ast.Name) and func.id in _FUNCTIONS
    first = node.args[0] if node.args else None
    if reader and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def read_by_code() -> set[str]:
    names: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and (name := _variable_read(node)):
                names.add(name)
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                key = node.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    names.add(key.value)
    return names


def documented() -> set[str]:
    names: set[str] = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_every_variable_the_code_reads_is_documented():
    assert read_by_code() - set(INTERNAL) - documented() == set()


def test_every_documented_variable_is_read_by_the_code():
    assert documented() - read_by_code() == set()


def test_the_reader_finds_the_usual_spellings():
    found = read_by_code()
    assert {"DATABASE_URL", "ALLOWED_HOSTS", "METRICS_PORT", "LOG_FORMAT", "PORT"} <= found
