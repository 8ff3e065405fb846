"""The server's leases end with its process, so a restart after a crash frees them at once."""
from __future__ import annotations

import os


def test_the_hub_takes_leases_bound_to_the_server_process(make_hub):
    hub = make_hub()
    assert hub.session.store.process_leases
    items = hub.session.query(3, annotator="ana")
    holders = hub.session.store._db.read(lambda journal: journal.leases([i.object_id for i in items]))
    assert {lease.owner_pid for lease in holders} == {os.getpid()}
