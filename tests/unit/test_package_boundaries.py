"""What ships and what depends on what: the wheel holds only the product, no package imports
"upward" (the CLI depends on the services, never the reverse; in the kernel, the state depends on
the contract, never the reverse; in the gateway, the HTTP API depends on publishing, never the
reverse), and importing a service starts nothing."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from setuptools import find_namespace_packages, find_packages

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = {"imgpipe", "gateway", "processors", "aggregator", "cli"}
SERVICES = ("gateway", "processors", "aggregator")
DEV_TOOLS = {"devstack", "bench", "tests"}


def _wheel_packages() -> list[str]:
    """The packages setuptools puts in the wheel: its own discovery, run on pyproject's settings."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    # pyproject's `find` looks for namespace packages unless told otherwise.
    finder = find_namespace_packages if find.get("namespaces", True) else find_packages
    where = ROOT / find.get("where", ["."])[0]
    packages: list[str] = finder(
        where=str(where), include=find.get("include", ["*"]), exclude=find.get("exclude", ())
    )
    return packages


def test_the_wheel_ships_the_product_and_no_dev_tool() -> None:
    packages = _wheel_packages()
    assert {name.split(".")[0] for name in packages} == PRODUCT
    # Every subpackage of the product is in it too (imgpipe.storage, gateway.api.routes, …).
    for init in ROOT.glob("*/**/__init__.py"):
        package = ".".join(init.parent.relative_to(ROOT).parts)
        if package.split(".")[0] in PRODUCT:
            assert package in packages


def _imported_modules(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
    return imported


def _imported_packages(path: Path) -> set[str]:
    return {module.split(".")[0] for module in _imported_modules(path)}


@pytest.mark.parametrize(
    ("package", "may_not_import"),
    [
        ("imgpipe", {"cli", *SERVICES, *DEV_TOOLS}),
        *[(service, {"cli", *(set(SERVICES) - {service}), *DEV_TOOLS}) for service in SERVICES],
        ("cli", DEV_TOOLS),
    ],
)
def test_no_package_imports_upward(package: str, may_not_import: set[str]) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        assert not _imported_packages(path) & may_not_import, path.relative_to(ROOT)


# The kernel's rooms, each allowed to import only the rooms before it (imgpipe/__init__.py).
KERNEL_ROOMS = ("contract", "config", "runtime", "storage", "state")


def test_every_kernel_module_lives_in_a_room() -> None:
    loose = {path.name for path in (ROOT / "imgpipe").glob("*.py")} - {"__init__.py"}
    rooms = {path.name for path in (ROOT / "imgpipe").iterdir() if (path / "__init__.py").exists()}
    assert (loose, rooms) == (set(), set(KERNEL_ROOMS))


def _imports_from_later_layers(package: str, layers: tuple[str, ...], layer: str) -> list[tuple[Path, str]]:
    """The modules of `package` that its sub-package `layer` imports from outside `layer` and the
    layers before it, with the file importing each."""
    allowed = set(layers[: layers.index(layer) + 1])
    return [
        (path.relative_to(ROOT), module)
        for path in sorted((ROOT / package / layer).rglob("*.py"))
        for module in _imported_modules(path)
        if module.split(".")[0] == package and module.partition(".")[2].split(".")[0] not in allowed
    ]


@pytest.mark.parametrize("room", KERNEL_ROOMS)
def test_a_kernel_room_imports_only_the_rooms_before_it(room: str) -> None:
    assert _imports_from_later_layers("imgpipe", KERNEL_ROOMS, room) == []


# The gateway's jobs, each allowed to import only the jobs before it: publishing knows nothing of
# uploads or HTTP, intake records a request (and its publishing checkpoint) without answering HTTP.
# Only the entry points at the top (app.py, run.py) wire them all.
GATEWAY_JOBS = ("publishing", "intake", "api")


def test_every_gateway_module_serves_a_job_or_is_an_entry_point() -> None:
    top = {path.name for path in (ROOT / "gateway").glob("*.py")}
    jobs = {path.name for path in (ROOT / "gateway").iterdir() if (path / "__init__.py").exists()}
    assert (top, jobs) == ({"__init__.py", "__main__.py", "app.py", "run.py"}, set(GATEWAY_JOBS))


@pytest.mark.parametrize("job", GATEWAY_JOBS)
def test_a_gateway_job_imports_only_the_jobs_before_it(job: str) -> None:
    assert _imports_from_later_layers("gateway", GATEWAY_JOBS, job) == []


_WHAT_AN_IMPORT_STARTED = """
import gc, importlib, json, os, sys, threading
importlib.import_module(sys.argv[1])
import faust
sockets = 0
for fd in os.listdir("/proc/self/fd"):
    try:
        sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    except OSError:
        pass
apps = sum(isinstance(thing, faust.App) for thing in gc.get_objects())
print(json.dumps({"threads": threading.active_count(), "sockets": sockets, "faust_apps": apps}))
"""


@pytest.mark.parametrize("module", ["processors.app", "aggregator.app", "gateway.app", "cli.main"])
def test_importing_a_service_starts_nothing(module: str, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    environment = {**os.environ, "IMGPIPE_STATE_DIR": str(state_dir)}
    started = subprocess.run(
        [sys.executable, "-c", _WHAT_AN_IMPORT_STARTED, module],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(started.stdout) == {"threads": 1, "sockets": 0, "faust_apps": 0}
    assert not state_dir.exists()  # no Faust data directory made either


# Where the whole of the settings may be named: where they are read and checked, and where each
# service composes its components from them. Every other component takes only its parts.
SETTINGS_ROOTS = {
    "imgpipe/config/settings.py",
    "imgpipe/storage/startup.py",
    "imgpipe/state/migration_runner.py",
    "gateway/app.py",
    "processors/app.py",
    "aggregator/app.py",
    "aggregator/clients.py",
}


def test_only_the_composition_roots_take_the_whole_settings() -> None:
    naming = set()
    for package in sorted(PRODUCT):
        for path in sorted((ROOT / package).rglob("*.py")):
            names = {node.id for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Name)}
            if "Settings" in names:
                naming.add(str(path.relative_to(ROOT)))
    assert naming == SETTINGS_ROOTS
