"""Write a proposal as a commented config.yaml that loads as it is."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ..config import DEFAULT_ACTION_KEYS, assign_class_defaults
from ..errors import ConfigError
from .proposal import FEATURE_KINDS, Proposal

#: Lines are wrapped at this width.
WIDTH = 100


def _relative(path: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(path).resolve().as_posix()


def config_mapping(proposal: Proposal, out: str | os.PathLike, *, name: str | None = None,
                   class_styles: dict[str, dict] | None = None) -> dict[str, Any]:
    """The config a proposal stands for, as a mapping (paths relative to ``out``'s folder).

    Parameters
    ----------
    proposal
        What to write.
    out
        Where the config will be written (paths are made relative to its folder).
    name
        The session's name (default: the first data file's stem).
    class_styles
        Class name → ``{"color": ..., "key": ...}`` chosen by hand (the setup page).
    """
    folder = Path(out).resolve().parent
    stem = proposal.paths[0].stem
    features: dict[str, Any] = {}
    for kind in ("numeric", "categorical", "arrays"):
        if proposal.features(kind):
            features[kind] = proposal.features(kind)
    if proposal.features("embeddings"):
        features["embeddings"] = [{"column": c, "featurizer": proposal.text_featurizer}
                                  for c in proposal.features("embeddings")]
    data: dict[str, Any] = {
        "sources": [{"path": _relative(p, folder)} for p in proposal.paths],
        "id_column": proposal.id_column,
        "features": features,
    }
    if proposal.ground_truth is not None:
        data["ground_truth"] = proposal.ground_truth
    data["missing"] = "impute"
    if proposal.detail:
        data["detail"] = [{"column": c, "kind": k} for c, k in proposal.detail]
    if proposal.hidden:
        data["hidden"] = proposal.hidden
    styles = class_styles or {}
    names = proposal.class_names
    reserved = set(DEFAULT_ACTION_KEYS.values())
    # Classes named by one character each (digits 0-9) are labelled with that key.
    own_key = all(len(n) == 1 and n not in reserved for n in names)
    entries = [(n, styles.get(n, {}).get("color") or None,
                styles.get(n, {}).get("key") or (n if own_key else None)) for n in names]
    classes = [c.to_dict() for c in assign_class_defaults(entries, str(out), reserved)]
    return {
        "name": name or stem,
        "seed": 0,
        "data": data,
        "classes": classes,
        "labels": {"store": f".alabel/{stem}-labels.sqlite", "models": f".alabel/{stem}-models"},
    }


def _flow(value: Any) -> str:
    """A value in YAML flow style on one line."""
    # Dumped inside a list and unwrapped: a bare scalar would get a document end marker.
    text = yaml.safe_dump([value], default_flow_style=True, width=10**9, allow_unicode=True,
                          sort_keys=False).strip()
    return text[1:-1]


def _flow_list(key: str, items: list, indent: int) -> list[str]:
    """``key: [a, b, ...]`` wrapped at :data:`WIDTH` (continuation lines indented under the list)."""
    head = " " * indent + f"{key}: ["
    parts = [_flow(item) for item in items]
    lines, line = [], head
    for i, part in enumerate(parts):
        piece = part + (", " if i < len(parts) - 1 else "]")
        if len(line) + len(piece) > WIDTH and line.strip() not in (f"{key}: [",):
            lines.append(line.rstrip())
            line = " " * len(head) + piece
        else:
            line += piece
    lines.append(line if parts else head + "]")
    return lines


def _comment(text: str, indent: int) -> list[str]:
    """A comment wrapped at :data:`WIDTH`."""
    import textwrap

    prefix = " " * indent + "# "
    return textwrap.wrap(text, WIDTH, initial_indent=prefix, subsequent_indent=prefix) or [prefix.rstrip()]


def render_config(proposal: Proposal, out: str | os.PathLike, **kwargs) -> str:
    """The config as YAML text, with a comment for every decision."""
    m = config_mapping(proposal, out, **kwargs)
    data = m["data"]
    lines = ["# alabel session config written by `alabel init` from "
             + ", ".join(p.name for p in proposal.paths) + ".",
             "# Every choice below says why; edit freely (README: config reference), then",
             f"#   alabel serve {Path(out).name}",
             f"name: {_flow(m['name'])}", "seed: 0", "data:", "  sources:"]
    lines += [f"    - {_flow(s)}" for s in data["sources"]]
    lines += _comment(f"id column: {_note(proposal, 'id column')}", 2)
    lines.append(f"  id_column: {_flow(data['id_column'])}")
    lines.append("  features:")
    for kind in FEATURE_KINDS:
        if kind not in data["features"]:
            continue
        reasons = sorted({proposal.decisions[c].reason for c in proposal.features(kind)})
        if kind == "embeddings":
            lines += _comment(reasons[0], 4)
            lines.append("    embeddings:")
            lines += [f"      - {_flow(e)}" for e in data["features"]["embeddings"]]
        else:
            if kind != "numeric" or len(reasons) == 1:
                lines += _comment("; ".join(reasons[:3]), 4)
            lines += _flow_list(kind, data["features"][kind], 4)
    if "ground_truth" in data:
        lines += _comment(f"ground truth: {_note(proposal, 'ground truth')}; the oracle of `alabel simulate`", 2)
        lines.append(f"  ground_truth: {_flow(data['ground_truth'])}")
    lines += _comment("rows with a missing feature are kept (impute); `drop` removes them", 2)
    lines.append("  missing: impute")
    if "detail" in data:
        lines.append("  detail:")
        lines += [f"    - {_flow(d)}" for d in data["detail"]]
    if "hidden" in data:
        lines += _comment("never shown while labelling, never features:", 2)
        for column in data["hidden"]:
            lines += _comment(f"{column}: {proposal.decisions[column].reason}", 2)
        lines += _flow_list("hidden", data["hidden"], 2)
    left_out = [(c, d.reason) for c, d in proposal.decisions.items() if d.role == "left_out"]
    if left_out:
        lines += _comment("left out of the features (add them above if they matter):", 2)
        for column, reason in left_out:
            lines += _comment(f"{column}: {reason}", 2)
    if m["classes"]:
        counts = dict(proposal.classes)
        lines.append(f"classes:  # {len(m['classes'])} classes, with their rows in the data")
        for c in m["classes"]:
            lines.append(f"  - {_flow(c)}  # {counts.get(c['name'], 0):,} rows")
    else:
        lines += _comment("classes: none found (no ground truth); list them, e.g. "
                          "classes: [cat, dog], or pass --classes to alabel init", 0)
    lines += _comment("head and strategy: none named, so the adaptive defaults (auto) that suit every "
                      "label budget", 0)
    lines += ["labels:", f"  store: {_flow(m['labels']['store'])}", f"  models: {_flow(m['labels']['models'])}"]
    return "\n".join(lines) + "\n"


def _note(proposal: Proposal, prefix: str) -> str:
    for note in proposal.notes:
        if note.startswith(prefix + ":"):
            return note.split(":", 1)[1].strip()
    return ""


def write_config(proposal: Proposal, out: str | os.PathLike, *, force: bool = False, **kwargs) -> Path:
    """Write the config to ``out`` (never over an existing file unless ``force``) and check it loads.

    Raises
    ------
    ConfigError
        ``out`` exists (without ``force``), or the config would not load (nothing is written).
    """
    from ..config import SessionConfig

    out = Path(out)
    if out.exists() and not force:
        raise ConfigError(f"{out}: already exists; choose another --out or pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render_config(proposal, out, **kwargs)
    # Validate what was written, as the loader will read it, before the file exists.
    SessionConfig.from_dict(yaml.safe_load(text), base_dir=out.resolve().parent, where=str(out))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out
