"""Fixtures of the data tests."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from alabel.core.data import DataSpec
from data_helpers import BASE_SPEC, small_frame


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """``tmp_path/table.parquet`` holding :func:`small_frame`."""
    path = tmp_path / "table.parquet"
    small_frame().to_parquet(path, index=False)
    return path


@pytest.fixture
def make_spec(tmp_path: Path):
    """Build a DataSpec from BASE_SPEC with top-level overrides, relative to tmp_path."""

    def make(**overrides) -> DataSpec:
        d = copy.deepcopy(BASE_SPEC)
        d.update(overrides)
        return DataSpec.from_dict(d, where="config.yaml", base_dir=tmp_path)

    return make
