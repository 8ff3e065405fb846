"""Test-wide settings.

``TRITON_INTERPRET=1`` must be in the environment before any ``@triton.jit``
decorator runs, so that the Triton kernels run on CPU tensors in CI (no GPU).
Setting it here, at import time, precedes every test module's imports.
"""
import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import importlib.util
import sys
from pathlib import Path

import pytest


def _load(name: str):
    """A helper module beside this file (tests/ is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pg = _load("_pg_cluster")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL server for the whole test session (socket only).

    No mock: a missing PostgreSQL fails the run in CI (``CI=true``) and skips
    the tests that need it elsewhere.
    """
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


@pytest.fixture
def nan_guarded():
    """Copy a 1-D/2-D tensor into a NaN-padded buffer and return the view of the original.

    The Triton interpreter does not fault on out-of-bounds loads; padding
    every edge with NaN makes an unmasked load poison the result instead.
    The view is strided like a slice of a larger matrix, which also tests
    that kernels honour strides.
    """

    def make(t, pad: int = 7):
        import torch

        if t.ndim == 1:
            buf = torch.full((t.shape[0] + 2 * pad,), float("nan"), dtype=t.dtype)
            buf[pad:pad + t.shape[0]] = t
            return buf[pad:pad + t.shape[0]]
        rows, cols = t.shape
        buf = torch.full((rows + 2 * pad, cols + 2 * pad), float("nan"), dtype=t.dtype)
        buf[pad:pad + rows, pad:pad + cols] = t
        return buf[pad:pad + rows, pad:pad + cols]

    return make
