"""Small sessions on disk for the security tests (a CSV, a config, labels, a trained model)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CLASSES = ["a", "b"]


def write_session(folder: Path, n: int = 40, **overrides) -> Path:
    """A two-class CSV session in ``folder``; returns its config path."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    truth = np.array(CLASSES)[np.arange(n) % 2]
    frame = pd.DataFrame({"obj": [f"o{i:03d}" for i in range(n)],
                          "x": rng.normal(size=n) + (truth == "b") * 4, "y": rng.normal(size=n),
                          "truth": truth})
    frame.to_csv(folder / "table.csv", index=False)
    cfg = {
        "name": "tiny", "seed": 0,
        "data": {"sources": [{"path": "table.csv"}], "id_column": "obj",
                 "features": {"numeric": ["x", "y"]}, "ground_truth": "truth"},
        "classes": list(CLASSES),
        "head": {"type": "logistic_regression"},
        "strategy": {"type": "random"},
        "training": {"evaluation_folds": 2},
        "labels": {"store": "labels.sqlite", "models": "models"},
    }
    cfg.update(overrides)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def label_all(config: Path, n: int = 12) -> None:
    """Import ``n`` ground-truth labels through the CLI."""
    from alabel.dashboard.cli import main

    frame = pd.read_csv(config.parent / "table.csv").head(n)
    labels = config.parent / "import.csv"
    frame.rename(columns={"truth": "label"})[["obj", "label"]].to_csv(labels, index=False)
    assert main(["-q", "label", str(config), "--from", str(labels)]) == 0


def rewrite_schema(skops_file: Path, edit) -> None:
    """Rewrite ``schema.json`` inside a skops zip with ``edit(schema)`` (crafted payloads)."""
    with zipfile.ZipFile(skops_file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members["schema.json"])
    edit(schema)
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(skops_file, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def add_attribute(node: dict):
    """An ``edit`` for :func:`rewrite_schema` that plants ``node`` as attribute ``evil_`` of the head."""
    def edit(schema):
        attrs = schema["content"]  # the head's attribute dict (a DictNode)
        attrs["content"]["evil_"] = node
        key_types = attrs["key_types"]["content"]
        key_types.append(dict(key_types[0]))  # skops pairs keys with key types one to one
    return edit


def json_node(value) -> dict:
    return {"__class__": type(value).__name__, "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True}


def tuple_node(*items) -> dict:
    return {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
            "content": list(items)}
