"""The session panel: download the bundle or the labels, open an uploaded bundle, who is labelling."""
from __future__ import annotations

import html
import io

import panel as pn

from alabel.core.errors import AlabelError

from ..redact import redact_paths, shown_path
from ..sharing import bundle_zip, labels_file, open_upload
from .base import Component
from .identity import annotator_field


class SessionPanel(Component):
    """Export and load sessions; the annotator name of this tab."""

    type_name = "session"
    title = "Session"

    def __init__(self, state, **options):
        super().__init__(state, **options)
        session = state.session
        stem = _slug(session.config.name)
        self.annotator = annotator_field(state, label="Annotator", width=200, css_class="session-annotator")
        self.data_mode = pn.widgets.RadioButtonGroup(options=["copy", "link"], value="copy",
                                                     css_classes=["session-data-mode"])
        self.bundle = pn.widgets.FileDownload(callback=self._bundle, filename=f"{stem}-bundle.zip",
                                              label="Download session bundle (.zip)", color="primary",
                                              css_classes=["session-bundle"], embed=False)
        self.csv = pn.widgets.FileDownload(callback=lambda: io.BytesIO(labels_file(session, ".csv")),
                                           filename=f"{stem}-labels.csv", label="Labels (CSV)",
                                           css_classes=["session-csv"], embed=False)
        self.parquet = pn.widgets.FileDownload(callback=lambda: io.BytesIO(labels_file(session, ".parquet")),
                                               filename=f"{stem}-labels.parquet", label="Labels (Parquet)",
                                               css_classes=["session-parquet"], embed=False)
        self.upload = pn.widgets.FileInput(accept=".zip", css_classes=["session-upload"])
        self.upload.param.watch(self._uploaded, "value")
        self.upload_result = pn.pane.HTML("", css_classes=["session-upload-result"])
        # Names relative to the session's folder: where the server keeps its files is not the page's business.
        folder = state.hub.config_path.parent
        # A database store is named by kind only: its server's address is not the page's business either.
        store_shown = f"a {session.config.store_name.partition(':')[0]} store" if session.config.store_is_url \
            else shown_path(session.config.store_path, folder)
        self.where = pn.pane.HTML(
            f"<small>config <code>{html.escape(shown_path(state.hub.config_path, folder))}</code><br>labels "
            f"<code>{html.escape(store_shown)}</code></small>",
            sizing_mode="stretch_width", css_classes=["session-where"])

    def __panel__(self):
        return self.card(self.annotator, self.where, pn.Row(pn.pane.HTML("data:"), self.data_mode), self.bundle,
                         pn.Row(self.csv, self.parquet), pn.pane.HTML("<b>Open a bundle</b>"), self.upload,
                         self.upload_result)

    def _bundle(self):
        try:
            return io.BytesIO(bundle_zip(self.state.session, data=self.data_mode.value))
        except AlabelError as exc:
            self.state._say(str(exc), "error")
            raise

    def _uploaded(self, event) -> None:
        if not event.new:
            return
        from ..hub import hub_key, register_alias

        name = self.upload.filename or "bundle.zip"
        uploads = self.state.hub.config_path.parent / ".alabel" / "uploads"
        try:
            config_path, hub = open_upload(event.new, uploads, name=name)
        except AlabelError as exc:
            message = redact_paths(str(exc), uploads)
            self.upload_result.object = f"<span style='color:#b00020'>{html.escape(message)}</span>"
            return
        token = register_alias(hub_key(config_path))
        self.upload_result.object = (
            f"<span class='session-opened'>Opened {html.escape(hub.session.config.name)} "
            f"({hub.session.n_labels(split=None)} labels): "
            f"<a href='?session={token}' target='_blank'>open it in a new tab</a></span>")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-").lower() or "session"
