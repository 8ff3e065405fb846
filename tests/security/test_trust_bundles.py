"""A bundle is confined to its folder and names only registered types (issue 11, finding 2).

Covers a bundle opened from the command line (``alabel export`` marks it)
and one uploaded through the dashboard (``dashboard/bundles.py``).
"""
from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from trust_fixtures import label_all, write_session

from alabel.core import registry
from alabel.core.config import BUNDLE_MARKER, SessionConfig
from alabel.core.errors import ConfigError
from alabel.dashboard import hub as hub_module
from alabel.dashboard.sharing import open_upload, unpack_bundle
from alabel.dashboard.cli import main


@pytest.fixture
def bundle(tmp_path) -> Path:
    """An exported bundle (config, labels, data copied in)."""
    config = write_session(tmp_path / "session")
    label_all(config)
    out = tmp_path / "bundle"
    assert main(["-q", "export", str(config), "--out", str(out)]) == 0
    assert (out / BUNDLE_MARKER).is_file()
    return out


def _edit(config: Path, edit) -> None:
    raw = yaml.safe_load(config.read_text())
    edit(raw)
    config.write_text(yaml.safe_dump(raw, sort_keys=False))


def _private_csv(tmp_path: Path) -> Path:
    private = tmp_path / "private" / "secret.csv"
    private.parent.mkdir()
    private.write_text("obj,x,y,truth\ns1,1,2,a\ns2,3,4,b\n")
    return private


ESCAPES = {
    "absolute source": (lambda raw, p: raw["data"]["sources"].__setitem__(0, {"path": str(p)}),
                        "data.sources[0].path", "is an absolute path"),
    "source through ..": (lambda raw, p: raw["data"]["sources"].__setitem__(0, {"path": "../private/secret.csv"}),
                          "data.sources[0].path", "points outside the bundle folder"),
    "data.root /": (lambda raw, p: raw["data"].__setitem__("root", "/"), "data.root", "is an absolute path"),
    "store elsewhere": (lambda raw, p: raw["labels"].__setitem__("store", str(p.parent / "stolen.sqlite")),
                        "labels.store", "is an absolute path"),
    "store through ..": (lambda raw, p: raw["labels"].__setitem__("store", "../private/stolen.sqlite"),
                         "labels.store", "points outside"),
    "models through ..": (lambda raw, p: raw["labels"].__setitem__("models", "../../models"),
                          "labels.models", "points outside"),
    "layout file through ..": (lambda raw, p: raw.setdefault("ui", {}).__setitem__("layout", "../private/l.yaml"),
                               "ui.layout", "points outside"),
    "store in the home folder": (lambda raw, p: raw["labels"].__setitem__("store", "~/stolen.sqlite"),
                                 "labels.store", "is an absolute path"),
}


@pytest.mark.parametrize("case", list(ESCAPES))
def test_opened_bundle_paths_stay_inside(case, bundle, tmp_path, capsys):
    edit, key, message = ESCAPES[case]
    private = _private_csv(tmp_path)
    _edit(bundle / "config.yaml", lambda raw: edit(raw, private))
    capsys.readouterr()
    code = main(["-q", "train", str(bundle / "config.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"{key}: " in err and message in err
    assert sorted(p.name for p in private.parent.iterdir()) == ["secret.csv"]  # no store created there


def test_a_link_out_of_the_bundle_is_refused(bundle, tmp_path, capsys):
    private = _private_csv(tmp_path)
    (bundle / "data" / "link.csv").symlink_to(private)
    _edit(bundle / "config.yaml", lambda raw: raw["data"]["sources"].__setitem__(0, {"path": "data/link.csv"}))
    with pytest.raises(ConfigError, match=r"data\.sources\[0\]\.path: 'data/link.csv' points outside"):
        SessionConfig.load(bundle / "config.yaml")


def test_a_plain_config_keeps_its_absolute_paths(tmp_path):
    private = _private_csv(tmp_path)
    config = write_session(tmp_path / "mine", data={"sources": [str(private)], "id_column": "obj",
                                                    "features": {"numeric": ["x", "y"]}})
    assert SessionConfig.load(config).data.sources[0].path == private  # not a bundle: the user's own files


def _zip_folder(folder: Path, skip=(BUNDLE_MARKER,)) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name not in skip:
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def test_uploaded_bundle_cannot_read_a_private_file(bundle, tmp_path):
    private = _private_csv(tmp_path)
    _edit(bundle / "config.yaml", lambda raw: raw["data"]["sources"].__setitem__(0, {"path": str(private)}))
    uploads = tmp_path / "uploads"
    with pytest.raises(ConfigError, match=r"config\.yaml: data\.sources\[0\]\.path: .* is an absolute path"):
        unpack_bundle(_zip_folder(bundle), uploads, name="up.zip")  # the upload carries no marker: still confined
    assert not any(uploads.iterdir())


@pytest.fixture
def evil_module(tmp_path, monkeypatch):
    """An importable module that leaves a marker file when imported."""
    marker = tmp_path / "imported"
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "evil_head_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass Head: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    yield marker
    sys.modules.pop("evil_head_mod", None)


@pytest.mark.parametrize("section", ["head", "strategy", "loop"])
def test_uploaded_bundle_names_only_registered_types(section, bundle, tmp_path, evil_module):
    _edit(bundle / "config.yaml", lambda raw: raw.__setitem__(section, {"type": "evil_head_mod.Head"}))
    with pytest.raises(ConfigError, match=rf"{section}\.type: 'evil_head_mod.Head' is a dotted import path"):
        unpack_bundle(_zip_folder(bundle), tmp_path / "uploads", name="up.zip")
    assert not evil_module.exists()


def test_operator_can_allow_plugins(bundle, tmp_path, evil_module, monkeypatch):
    monkeypatch.setattr(registry, "_BUNDLE_PLUGINS", False)
    registry.allow_bundle_plugins(True)
    _edit(bundle / "config.yaml", lambda raw: raw.__setitem__("head", {"type": "evil_head_mod.Head"}))
    with pytest.raises(ConfigError, match="is not a Head subclass"):
        unpack_bundle(_zip_folder(bundle), tmp_path / "uploads", name="up.zip")
    assert evil_module.exists()  # imported: the operator said the bundles' code is trusted


def test_upload_is_deleted_when_its_session_closes(bundle, tmp_path):
    uploads = tmp_path / "uploads"
    try:
        config_path, hub = open_upload(_zip_folder(bundle), uploads, name="up.zip")
        assert hub.session.config.confined and hub.session.store.n_labels() == 12
        assert any(uploads.iterdir())
    finally:
        hub_module.close_all()
    assert not any(uploads.iterdir())


def test_bundle_layout_names_only_registered_components(bundle, evil_module):
    from types import SimpleNamespace

    from alabel.dashboard.layout import resolve_layout

    (bundle / "mine.yaml").write_text("main:\n  - {type: evil_head_mod.Head}\n")
    _edit(bundle / "config.yaml", lambda raw: raw.setdefault("ui", {}).__setitem__("layout", "mine.yaml"))
    config = SessionConfig.load(bundle / "config.yaml")
    assert config.confined
    with pytest.raises(ConfigError, match=r"mine\.yaml: main\[0\]\.type: 'evil_head_mod\.Head' is a dotted import"):
        resolve_layout("mine.yaml", SimpleNamespace(config=config))
    assert not evil_module.exists()


def test_uploads_of_a_dead_server_are_removed_at_the_next_upload(bundle, tmp_path):
    import socket
    import subprocess

    uploads = tmp_path / "uploads"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = uploads / "old-bundle-1234abcd"
    orphan.mkdir(parents=True)
    (orphan / ".alabel-upload-owner").write_text(f"{dead.pid} {socket.gethostname()}\n")
    foreign = uploads / "not-ours"
    foreign.mkdir()
    config_path = unpack_bundle(_zip_folder(bundle), uploads, name="up.zip")
    assert not orphan.exists() and foreign.exists() and config_path.is_file()
