"""What a page's address and websocket can make the server do (issue 11, finding 2: the web-server parts).

No server here: :func:`alabel.dashboard.app.build_page` is what ``alabel serve``
runs for each request, given the request's address arguments and cookies.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboard"))
from dash_fixtures import wait_for, write_config  # noqa: E402

from alabel.dashboard.access import ANNOTATOR_COOKIE, ServerAccess, page_identity  # noqa: E402
from alabel.dashboard.hub import ServerHub  # noqa: E402

SECRET_KEY = "db_password_of_the_operator"


@pytest.fixture
def hub(tmp_path):
    folder = tmp_path / "session"
    folder.mkdir()
    hub = ServerHub(write_config(folder), workers=2)
    yield hub
    hub.close()


@pytest.fixture
def pages():
    built = []

    def make(hub, args=None, cookies=None, **kwargs):
        from alabel.dashboard.app import build_page

        page = build_page(hub, args={k: [v.encode()] for k, v in (args or {}).items()}, cookies=cookies or {},
                          **kwargs)
        built.append(page)
        assert wait_for(lambda: page.state.current is not None), page.state.message
        return page

    yield make
    for page in built:
        page.dispose()
        page.state.close()


def document_text(page) -> str:
    """Everything the page sends to the browser: the serialised Bokeh document."""
    from bokeh.core.json_encoder import serialize_json
    from bokeh.document import Document

    doc = Document()
    doc.add_root(page.__panel__().get_root(doc))
    text = serialize_json(doc.to_json())
    assert "alabel-page" in text and "layout-select" in text  # the whole page, not an empty document
    return text


# ---------------------------------------------------------------------------
# ?layout= picks a name, never a path
# ---------------------------------------------------------------------------
def test_layout_path_in_the_address_is_never_read_and_answers_like_a_missing_one(tmp_path, hub, pages):
    outside = tmp_path / "private.yaml"
    outside.write_text(yaml.safe_dump({SECRET_KEY: "x", "main": [{"type": "labelling"}]}))
    messages = {}
    for requested in (str(outside), str(tmp_path / "no-such-file.yaml")):
        page = pages(hub, {"layout": requested})
        assert page.state.layout_name == "default"  # the page still works, with the default layout
        messages[requested] = page.state.message.replace(requested[:40], "<asked>")
        assert SECRET_KEY not in page.state.message and SECRET_KEY not in document_text(page)
    first, second = messages.values()
    assert first == second  # whether or not the file exists: the same words
    assert "?layout= ignored: unknown layout" in first and "available: compact, default, grid, images" in first


def test_a_shipped_layout_is_picked_by_name(hub, pages):
    page = pages(hub, {"layout": "compact"})
    assert page.state.layout_name == "compact" and "compact" in page.layout_marker.object


def test_layout_set_over_the_websocket_is_a_name_too(tmp_path, hub, pages):
    """The layout picker's value comes from the browser: a crafted one is only a name."""
    outside = tmp_path / "private.yaml"
    outside.write_text(yaml.safe_dump({SECRET_KEY: "x", "main": [{"type": "labelling"}]}))
    page = pages(hub)
    page.state.layout_name = str(outside)
    assert "unknown layout" in page.state.message and SECRET_KEY not in page.state.message


def test_the_servers_own_layout_file_is_offered_by_its_name(tmp_path, hub, pages):
    own = hub.config_path.parent / "mine.yaml"
    own.write_text(yaml.safe_dump({"name": "mine", "main": [{"type": "labelling"}]}))
    page = pages(hub, layout="mine.yaml")
    assert page.state.layout_name == "mine" and "mine" in page.catalog.names
    assert str(hub.config_path.parent) not in document_text(page)


def test_an_uploaded_configs_layout_outside_its_folder_is_not_offered(tmp_path, hub):
    from alabel.dashboard.layout import LayoutCatalog

    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(yaml.safe_dump({"main": [{"type": "labelling"}]}))
    config = hub.session.config
    config.ui.layout = str(outside)
    assert "elsewhere" not in LayoutCatalog.for_config(config, confine=True).names
    assert "elsewhere" in LayoutCatalog.for_config(config).names  # the server's own config is trusted


# ---------------------------------------------------------------------------
# no server paths in the page
# ---------------------------------------------------------------------------
def test_the_page_shows_no_absolute_server_path(hub, pages):
    folder = str(hub.config_path.parent)
    page = pages(hub)
    panel = next(c for c in page.components if c.type_name == "session")
    assert "<code>config.yaml</code>" in panel.where.object and "<code>labels.sqlite</code>" in panel.where.object
    page.state._say(f"{hub.session.config.source}: data.sources[0]: cannot read {folder}/blobs.parquet "
                    "(or /etc/elsewhere/x.csv)", "error")
    page.state.param.update(trainer_state="failed", trainer_error=f"cannot write {folder}/models/model-v00001.skops")
    text = document_text(page)
    assert "cannot write models/model-v00001.skops" in text
    assert folder not in text and str(Path(folder).parent) not in text and "/etc/elsewhere" not in text
    assert "config.yaml: data.sources[0]: cannot read blobs.parquet (or …/x.csv)" in page.message.object


# ---------------------------------------------------------------------------
# identity: the signed-in user, else ?annotator= on loopback, else the browser's remembered name
# ---------------------------------------------------------------------------
def _signed(user: str, secret: str) -> str:
    from tornado.web import create_signed_value

    return create_signed_value(secret, "user", user).decode()


SECRET = "s" * 48


def test_signed_in_user_is_the_annotator_and_the_address_cannot_change_it(hub, pages):
    access = ServerAccess(auth="password", loopback=False, cookie_secret=SECRET)
    page = pages(hub, {"annotator": "mallory"}, {"user": _signed("ana", SECRET), ANNOTATOR_COOKIE: "mallory"},
                 access=access)
    state = page.state
    assert state.annotator == "ana" and state.annotator_locked
    assert "?annotator= ignored" in state.message
    assert "header-annotator" in page.annotator.object and "<b>ana</b>" in page.annotator.object  # text, no field
    state.annotator = "mallory"  # a crafted websocket message
    assert state.annotator == "ana"
    item = state.current
    state.label(state.classes[0].name)
    events = hub.session.labels("train")
    assert events.loc[events["object_id"] == item.object_id, "annotator"].tolist() == ["ana"]


def test_a_forged_login_cookie_is_not_a_user(hub, pages):
    access = ServerAccess(auth="password", loopback=False, cookie_secret=SECRET)
    page = pages(hub, cookies={"user": _signed("ana", "another secret" * 4)}, access=access)
    assert page.state.annotator == "guest"


def test_annotator_from_the_address_only_on_loopback_without_auth(hub, pages):
    page = pages(hub, {"annotator": "ana"}, access=ServerAccess(loopback=True))
    assert page.state.annotator == "ana" and not page.state.annotator_locked
    ignored = page_identity(ServerAccess(loopback=False), user=None, url_name="ana", remembered=None)
    assert ignored.name is None and "ignored" in ignored.note


def test_the_browser_remembers_its_annotator(hub, pages):
    page = pages(hub, cookies={ANNOTATOR_COOKIE: "Ana%20K"}, access=ServerAccess(loopback=True))
    assert page.state.annotator == "Ana K"
    assert page.memory is not None and page.memory.annotator == "Ana K"
    page.state.annotator = "Ana B"
    assert page.memory.annotator == "Ana B"  # written back to the cookie by the browser


@pytest.mark.parametrize("value", ["", " ", "x" * 65, "a\nb", "\x00"])
def test_unusable_remembered_names_get_a_fresh_one(value):
    assert page_identity(ServerAccess(), user=None, url_name=None, remembered=value).name is None
