"""The package as a dependency: imports without extras, one interface for every store, typed."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import reference_stores
from conformance.targets import STORE_ENTRY_POINT_GROUP
from reference_stores import SESSION_STORE_METHODS, RevisionedSessionStore, SessionStore

BLOCK_EXTRAS = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'redis', 'boto3', 'botocore', 'psycopg', 'psycopg_pool', 'mcp', 'fakeredis', 'moto'}:
            raise ImportError(f'{name} is blocked: optional dependency')
        return None
sys.meta_path.insert(0, Block())
"""


@pytest.mark.parametrize(
    "code",
    [
        "import reference_stores; print(reference_stores.InMemorySessionStore)",
        "import conformance; import conformance.plugin; print(conformance.SessionStoreContract)",
        "from reference_stores import SessionStore, SessionData, SessionStoreError",
    ],
)
def test_the_base_install_imports_without_any_backend_client(code: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", BLOCK_EXTRAS + code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr


def test_loading_the_plugin_imports_neither_the_contract_nor_hypothesis() -> None:
    # pytest loads the plugin in every run of a project that has the kit installed.
    code = (
        "import sys, conformance.plugin\n"
        "print(sorted(m for m in ('hypothesis', 'conformance.contract') if m in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]", completed.stdout


def test_a_store_whose_extra_is_missing_says_which_extra() -> None:
    code = (
        BLOCK_EXTRAS
        + "import reference_stores\ntry:\n    reference_stores.RedisSessionStore\nexcept ImportError as e:\n    print('ImportError', e)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert "ImportError" in completed.stdout, completed.stderr


def _store_classes() -> list[tuple[str, type]]:
    found = []
    for entry in sorted(entry_points(group=STORE_ENTRY_POINT_GROUP), key=lambda e: e.name):
        module_name = entry.value.partition(":")[0]
        try:
            module = import_module(module_name)
        except ImportError:  # its extra is not installed here
            continue
        classes = [
            obj
            for _, obj in inspect.getmembers(module, inspect.isclass)
            if obj.__module__ == module.__name__ and obj.__name__.endswith("SessionStore")
        ]
        found.extend((entry.name, klass) for klass in classes)
    return found


@pytest.mark.parametrize(
    ("name", "store_class"), _store_classes(), ids=lambda v: v if isinstance(v, str) else v.__name__
)
def test_every_reference_store_exposes_the_same_interface(name: str, store_class: type) -> None:
    revisioned = getattr(store_class, "supports_revisions", False) is True
    protocol = RevisionedSessionStore if revisioned else SessionStore
    for method in SESSION_STORE_METHODS:
        assert inspect.iscoroutinefunction(getattr(store_class, method)), (
            f"{store_class.__name__}.{method}"
        )
        ours = inspect.signature(getattr(store_class, method))
        theirs = inspect.signature(getattr(protocol, method))
        assert list(ours.parameters) == list(theirs.parameters), (
            f"{store_class.__name__}.{method}{ours}"
        )
    parameters = inspect.signature(store_class).parameters
    assert "ttl_seconds" in parameters
    assert isinstance(
        getattr(store_class, "shares_sessions_across_instances", None), (bool, property)
    )
    assert store_class.__name__ in reference_stores.__all__


@pytest.mark.parametrize(
    ("name", "store_class"), _store_classes(), ids=lambda v: v if isinstance(v, str) else v.__name__
)
def test_every_reference_store_keeps_revisions(name: str, store_class: type) -> None:
    assert store_class.__dict__.get("supports_revisions") is True, store_class.__name__
    ours = inspect.signature(store_class.update_session)
    theirs = inspect.signature(RevisionedSessionStore.update_session)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
        (p.name, p.kind, p.default) for p in theirs.parameters.values()
    ], ours


def test_the_short_names_resolve_to_their_stores() -> None:
    names = {entry.name for entry in entry_points(group=STORE_ENTRY_POINT_GROUP)}
    assert {"memory", "sqlite", "redis", "dynamodb", "postgres"} <= names


def test_the_package_ships_its_type_marker() -> None:
    for package in ("reference_stores", "conformance"):
        assert (Path(import_module(package).__file__).parent / "py.typed").exists()


def test_the_node_bridge_ships_both_halves_in_one_package() -> None:
    from conformance import node_bridge

    package = Path(node_bridge.__file__).parent
    assert package.name == "node_bridge"
    assert package / "host.mjs" == node_bridge.HOST_PATH
    assert node_bridge.HOST_PATH.is_file()
