"""Server paths as a page may show them: relative to the session's folder, never absolute.

A page is read by whoever reaches the server; where the server keeps its
files is none of their business. :func:`shown_path` names a file for the page;
:func:`redact_paths` cleans text that may quote one (error messages name the
file at fault, often by its absolute path).
"""
from __future__ import annotations

import re
from pathlib import Path

# An absolute POSIX path: a "/" that starts a token (not inside a URL, a fraction or a relative path).
_ABSOLUTE = re.compile(r"(?<![\w.:/~\-])/[^\s'\"<>`]+")


def shown_path(path: str | Path, folder: str | Path) -> str:
    """``path`` relative to ``folder`` when inside it, else ``…/`` and its file name."""
    path, folder = Path(path), Path(folder)
    try:
        return Path(path.resolve()).relative_to(folder.resolve()).as_posix()
    except ValueError:
        return f"…/{path.name}"


def redact_paths(text: str, folder: str | Path | None = None) -> str:
    """``text`` with paths under ``folder`` made relative and every other absolute path cut to its name."""
    text = str(text)
    if folder is not None:
        for root in {str(Path(folder)), str(Path(folder).resolve())}:
            if root != "/":
                inside = re.compile(re.escape(root) + r"(/|(?=[\s'\"<>`),;:]|$))")
                text = inside.sub(lambda m: "" if m.group(1) == "/" else ".", text)
    return _ABSOLUTE.sub(lambda m: "…/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], text)
