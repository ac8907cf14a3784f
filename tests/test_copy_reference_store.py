"""README's "Copy a reference store", done for each store: copy its files, run the kit on the copy.

Each test takes the files the README's table names for one store, copies them unchanged
(the README says there is nothing to rename) into a package called ``mystore`` in a
temporary folder, checks that the copy imports with ``reference_stores`` blocked, and
runs the README's command for that store in a subprocess from that folder, with this
run's own backend in place of the README's example values (a Redis key prefix, a
PostgreSQL schema and a DynamoDB table of its own, removed afterwards). Every clause
must pass but those n/a for any store of that kind, and the modules under test must
have come from the copy.

Backends: Redis is the server in ``REDIS_URL`` when set, else fakeredis behind a small
target module (the README's command less its ``url``); PostgreSQL is ``DATABASE_URL``
(skipped only when that is unset); DynamoDB is a moto server on loopback.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.clauses import CLAUSES

try:  # tests/ as a package or as a plain folder on sys.path
    from .kit_runs import KitRun, run_pytest
    from .redis_servers import delete_keys_under
except ImportError:
    from kit_runs import KitRun, run_pytest  # type: ignore[no-redef]
    from redis_servers import delete_keys_under  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "reference_stores"
README = ROOT / "README.md"
PACKAGE = "mystore"
REDIS_URL = os.environ.get("REDIS_URL") or None
DATABASE_URL = os.environ.get("DATABASE_URL") or None

STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("dynamodb", id="dynamodb", marks=pytest.mark.dynamodb),
]

ALWAYS_NOT_APPLICABLE = {"TIME-TEXT-FORMAT", "SHARED-INSTANCES-UNDECLARED"}
"""n/a for every reference store: the first is checked in each store's own tests, the second
only for stores that do not declare ``shares_sessions_across_instances``."""
NOT_APPLICABLE = {
    "memory": ALWAYS_NOT_APPLICABLE | {"ERR-BACKEND", "SHARED-INSTANCES"},  # no backend, private
    "sqlite": ALWAYS_NOT_APPLICABLE,
    "redis": ALWAYS_NOT_APPLICABLE,
    "postgres": ALWAYS_NOT_APPLICABLE,
    "dynamodb": ALWAYS_NOT_APPLICABLE,
}

BLOCK_REFERENCE_STORES = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'reference_stores':
            raise ImportError(f'{name} is blocked: the copy must not need it')
        return None
sys.meta_path.insert(0, Block())
"""

PROBE = '''"""A pytest plugin that only looks: where the copy's modules were loaded from."""
import json, os, sys

def pytest_unconfigure(config):
    package = os.environ["COPY_PROBE_PACKAGE"]
    loaded = {
        name: getattr(module, "__file__", None)
        for name, module in list(sys.modules.items())
        if name == package or name.startswith(package + ".")
    }
    with open(os.environ["COPY_PROBE_OUT"], "w") as out:
        json.dump(loaded, out)
'''

FAKEREDIS_TARGET = '''"""The copied Redis store on fakeredis, for runs without REDIS_URL: one fake server per run."""
import contextlib

import fakeredis

from mystore.redis import RedisSessionStore

_SERVER = fakeredis.FakeServer()


def open_store(url=None, key_prefix="mystore-test:", ttl_seconds=86400):
    @contextlib.asynccontextmanager
    async def opened():
        if url is not None:  # the failing store: a real client, on a port nothing listens on
            async with RedisSessionStore(url=url, key_prefix=key_prefix, ttl_seconds=ttl_seconds) as store:
                yield store
            return
        client = fakeredis.FakeAsyncRedis(server=_SERVER)
        try:
            yield RedisSessionStore(client, key_prefix=key_prefix, ttl_seconds=ttl_seconds)
        finally:
            await client.aclose()

    return opened()
'''


# -- what the README says ---------------------------------------------------------------------


def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Copy a reference store")
    end = re.compile(r"^#{2,3} ", re.MULTILINE).search(text, start + 1)
    return text[start : end.start() if end else None]


def readme_files(store: str) -> list[str]:
    """The files the README's table names for ``store``: its own, then those always taken."""
    for line in readme_section().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == store:
            return re.findall(r"`([\w.]+\.py)`", cells[1]) + re.findall(r"`([\w.]+\.py)`", cells[2])
    raise AssertionError(f"README's 'Copy a reference store' table has no row for {store}")


def readme_command(store: str) -> list[str]:
    """The README's command for ``store``, as arguments after ``pytest``."""
    section = readme_section()
    block = section[
        section.index("```console") : section.index("```", section.index("```console") + 3)
    ]
    for line in block.splitlines():
        words = shlex.split(line)
        if words[:1] == ["pytest"] and any(
            word.startswith(f"--store={PACKAGE}.{store}:") for word in words
        ):
            return words[1:]
    raise AssertionError(f"README's 'Copy a reference store' has no command for {store}")


def with_values(
    arguments: list[str], store_options: dict[str, str], drop: tuple[str, ...] = ()
) -> list[str]:
    """``arguments`` with this run's values for the README's example ``--store-option``s.

    Every key given must be one the README's command sets: the names stay the README's.
    """
    out: list[str] = []
    seen: set[str] = set()
    words = iter(arguments)
    for word in words:
        if word == "--store-option":
            key, _, value = next(words).partition("=")
            seen.add(key)
            if key not in drop:
                out += [word, f"{key}={store_options.get(key, value)}"]
        else:
            out.append(word)
    assert set(store_options) | set(drop) <= seen, (arguments, store_options, drop)
    return out


# -- the copy ---------------------------------------------------------------------------------


def relative_imports(path: Path) -> set[str]:
    """The sibling modules ``path`` imports relatively (``from .name import ...``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module is None:
                found.update(f"{alias.name}.py" for alias in node.names)
            else:
                found.add(f"{node.module.split('.')[0]}.py")
    return found


def copy_store(files: list[str], folder: Path) -> Path:
    """The README's copy: the files, unchanged, in ``folder/mystore`` with an empty ``__init__``."""
    package = folder / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name in files:
        shutil.copyfile(SOURCE / name, package / name)
    return package


def import_blocking_reference_stores(folder: Path, module: str) -> str:
    """Import ``module`` from ``folder`` with ``reference_stores`` unimportable; its file."""
    code = BLOCK_REFERENCE_STORES + f"import {module}\nprint({module}.__file__)\n"
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    ran = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip().splitlines()[-1]


# -- backends ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_server_url() -> Iterator[str]:
    try:
        from .dynamodb_backends import moto_server
    except ImportError:
        from dynamodb_backends import moto_server  # type: ignore[no-redef]
    with moto_server() as url:
        yield url


@contextlib.contextmanager
def backend(
    store: str, folder: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """The README's command for ``store``, pointed at this run's backend, cleaned up after."""
    arguments = readme_command(store)
    tag = uuid.uuid4().hex[:10]
    if store in ("memory", "sqlite"):
        monkeypatch.delenv("SESSION_STORE_SQLITE_PATH", raising=False)
        yield arguments
    elif store == "redis":
        if REDIS_URL:
            prefix = f"copy-reference-store:{tag}:"
            try:
                yield with_values(arguments, {"url": REDIS_URL, "key_prefix": prefix})
            finally:
                delete_keys_under(REDIS_URL, prefix)
        else:
            if importlib.util.find_spec("lupa") is None:
                pytest.fail(
                    "fakeredis runs Lua scripts only with lupa: pip install 'fakeredis[lua]'"
                )
            (folder / "fakeredis_target.py").write_text(FAKEREDIS_TARGET)
            command = with_values(arguments, {}, drop=("url",))
            yield [
                "--store=fakeredis_target:open_store" if word.startswith("--store=") else word
                for word in command
            ]
    elif store == "postgres":
        if DATABASE_URL is None:
            pytest.skip(
                "DATABASE_URL is not set: the copied PostgreSQL store needs a server to run on"
            )
        import psycopg

        schema = f"copy_reference_store_{tag}"
        with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield with_values(arguments, {"dsn": DATABASE_URL, "table": f"{schema}.sessions"})
        finally:
            with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    elif store == "dynamodb":
        try:
            from .dynamodb_backends import (
                AWS_REDIRECTING_VARIABLES,
                AWS_TEST_ENVIRONMENT,
                client_for,
                delete_table,
            )
        except ImportError:
            from dynamodb_backends import (  # type: ignore[no-redef]
                AWS_REDIRECTING_VARIABLES,
                AWS_TEST_ENVIRONMENT,
                client_for,
                delete_table,
            )
        url: str = request.getfixturevalue("moto_server_url")
        for name in AWS_REDIRECTING_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in AWS_TEST_ENVIRONMENT.items():
            monkeypatch.setenv(name, value)
        table = f"copy-reference-store-{tag}"
        try:
            yield with_values(arguments, {"endpoint_url": url, "table_name": table})
        finally:
            client = client_for(url)
            try:
                delete_table(client, table)
            finally:
                client.close()
    else:
        raise AssertionError(store)


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("store", STORES)
def test_the_readme_names_every_file_a_copy_needs_and_no_other(store: str) -> None:
    files = readme_files(store)
    assert f"{store}.py" in files
    assert "__init__.py" not in files  # ours imports memory.py: the README says to write one
    needed: set[str] = set()
    todo = [f"{store}.py"]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += sorted(relative_imports(SOURCE / name))
    assert sorted(files) == sorted(needed)
    for name in files:
        assert "reference_stores" not in (SOURCE / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("store", STORES)
def test_a_copied_reference_store_passes_the_kit_as_the_readme_says(
    store: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = readme_files(store)
    package = copy_store(files, tmp_path)
    for name in files:  # nothing to rename: the copy is the file as it is
        assert (package / name).read_bytes() == (SOURCE / name).read_bytes()

    module_file = import_blocking_reference_stores(tmp_path, f"{PACKAGE}.{store}")
    assert Path(module_file) == package / f"{store}.py"

    (tmp_path / "copy_probe.py").write_text(PROBE)
    probe_out = tmp_path / "copy-probe.json"
    with backend(store, tmp_path, request, monkeypatch) as arguments:
        kit = run_pytest(
            tmp_path,
            *arguments,
            # The copy is the reference store byte for byte (checked above), whose heavy checks
            # run in its own test class: here the copy is judged on standing alone.
            "--conformance-skip-heavy",
            "-p",
            "copy_probe",
            env={"COPY_PROBE_PACKAGE": PACKAGE, "COPY_PROBE_OUT": str(probe_out)},
        )
    check_kit_run(kit, store, arguments)

    loaded = json.loads(probe_out.read_text())
    assert f"{PACKAGE}.{store}" in loaded, sorted(loaded)
    for name, path in loaded.items():
        assert path is not None, name
        assert Path(path).parent == package, (name, path)
    assert {Path(path).name for path in loaded.values()} == {"__init__.py", *files}


def check_kit_run(kit: KitRun, store: str, arguments: list[str]) -> None:
    tail = kit.output[-4000:]
    assert kit.returncode == 0, tail
    assert kit.report is not None, tail
    (target,) = (word.partition("=")[2] for word in arguments if word.startswith("--store="))
    assert [entry["store"] for entry in kit.report["stores"]] == [target]
    statuses = kit.statuses(target)
    assert sorted(statuses) == sorted(clause.id for clause in CLAUSES), tail
    not_passed = {clause: status for clause, status in statuses.items() if status != "pass"}
    assert not_passed == dict.fromkeys(NOT_APPLICABLE[store], "n/a"), tail
    assert kit.report["verdict"] == "pass"
    passed = sum(status == "pass" for status in statuses.values())
    assert passed >= len(CLAUSES) - len(NOT_APPLICABLE[store]) >= 50, passed


def test_the_readme_has_one_whole_suite_command_per_store() -> None:
    targets = {}
    for store in ("memory", "sqlite", "redis", "postgres", "dynamodb"):
        arguments: Any = readme_command(store)
        (target,) = (word for word in arguments if word.startswith("--store="))
        targets[store] = target
        # No clause selection: the command proves the whole contract.
        assert not any(word.startswith(("-k", "--clause")) for word in arguments), arguments
    assert targets == {
        "memory": "--store=mystore.memory:InMemorySessionStore",
        "sqlite": "--store=mystore.sqlite:SQLiteSessionStore",
        "redis": "--store=mystore.redis:RedisSessionStore",
        "postgres": "--store=mystore.postgres:open_postgres_store",
        "dynamodb": "--store=mystore.dynamodb:DynamoDBSessionStore",
    }
