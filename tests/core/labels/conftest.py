"""Fixtures that run the label store's tests against every backend: SQLite and a real PostgreSQL.

``store_factory`` (parametrised by ``backend``) opens stores by name; with
PostgreSQL each name is a new schema of one throwaway cluster started once
per test session (``pg_cluster``, in ``tests/conftest.py``). No mock: a missing PostgreSQL fails the
run in CI (``CI=true``) and skips its half of the tests elsewhere.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from alabel.core.labels import LabelStore

BACKENDS = ("sqlite", "postgresql")


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
