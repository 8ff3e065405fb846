"""``alabel init`` and the dashboard's setup page: a config proposed from the data.

:func:`propose` reads the data files through the format registry and decides,
column by column, what each one is (the id, the ground truth, a feature of
some kind, a column to hide, one to leave out) and why; :func:`render_config`
writes the decision as a commented config.yaml that loads as it is;
:func:`validate_setup` checks an edited decision the way the config loader
does, field by field, for the setup page.
"""
from .proposal import Proposal, propose, read_tables
from .render import config_mapping, render_config, write_config
from .validate import validate_setup

__all__ = ["Proposal", "config_mapping", "propose", "read_tables", "render_config", "validate_setup",
           "write_config"]
