"""Fixtures that run the label store's tests against every backend: SQLite and a real PostgreSQL.

``store_factory`` (parametrised by ``backend``) opens stores by name; with
PostgreSQL each name is a new schema of one throwaway cluster started once
per test session (``pg_cluster``). No mock: a missing PostgreSQL fails the
run in CI (``CI=true``) and skips its half of the tests elsewhere.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from alabel.core.labels import LabelStore


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pg = _load("_pg_cluster")
BACKENDS = ("sqlite", "postgresql")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL server for the whole test session (socket only)."""
    bin_dir = pg.find_bin()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing = "the psycopg driver is not installed (pip install -e '.[test]')"
    else:
        missing = None if bin_dir else f"PostgreSQL is not installed (no initdb; {pg.INSTALL_HINT})"
    if missing:
        if _in_ci():
            pytest.fail(f"PostgreSQL label store tests cannot run in CI: {missing}", pytrace=False)
        pytest.skip(f"PostgreSQL label store tests skipped outside CI: {missing}")
    # fsync off only speeds the tests up: acknowledged writes still survive a
    # server stop or crash (they are in the OS cache); the benchmark keeps fsync on.
    cluster = pg.Cluster(bin_dir, fsync=False)
    yield cluster
    cluster.destroy()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store_url(backend, tmp_path, request) -> Callable[[str], str]:
    """``store_url(name)``: where the store ``name`` of this test lives (a path or a URL)."""
    cluster = request.getfixturevalue("pg_cluster") if backend == "postgresql" else None
    schemas: dict[str, str] = {}

    def url(name: str = "labels") -> str:
        if cluster is None:
            return str(tmp_path / f"{name}.db")
        if name not in schemas:
            schemas[name] = cluster.new_schema(name)
        return cluster.url(schemas[name])

    return url


@pytest.fixture
def store_factory(store_url) -> Callable[..., LabelStore]:
    """``store_factory(name="labels", **kwargs)``: open the store ``name`` (closed after the test)."""
    opened: list[LabelStore] = []

    def make(name: str = "labels", **kwargs) -> LabelStore:
        store = LabelStore.open(store_url(name), **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def raw_sql(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    """Run one statement on a store's database behind the store's back (own connection, committed)."""
    if "://" not in url:
        import sqlite3

        with sqlite3.connect(url) as conn:
            return conn.execute(statement, params).fetchall()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def raw() -> Callable[..., list[tuple]]:
    """``raw(url, statement, params)``: SQL on a store's database, past the store (see :func:`raw_sql`)."""
    return raw_sql
