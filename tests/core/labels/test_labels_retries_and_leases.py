"""Retries from a new process, and leases of a process that died (issue 11, finding 6)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from alabel.core.errors import LabelStoreError
from alabel.core.labels import LabelStore, anonymous_annotator
from alabel.core.labels.backend import Lease
from alabel.core.labels.leases import this_process


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


# ------------------------------------------------------------------ retries


RESEND = """
    import json, sys
    from alabel.core.labels import LabelStore
    with LabelStore.open(sys.argv[1]) as store:
        event = store.record("obj-7", "Cep", annotator="ana", event_id="click-42", model_version=None)
    print(json.dumps({"seq": event.seq, "model_version": event.model_version, "time": event.time}))
"""


def test_an_event_re_sent_by_a_new_process_is_the_same_event(store_url):
    """The first attempt saw model 3; the retrier (after a crash) cannot know that."""
    path = store_url("labels")
    with LabelStore.open(path) as store:
        first = store.record("obj-7", "Cep", annotator="ana", event_id="click-42", model_version=3,
                             time=1_700_000_000.0)
    child = _python(RESEND, str(path))
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    again = json.loads(out)
    assert again == {"seq": first.seq, "model_version": 3, "time": 1_700_000_000.0}, "the first write wins"
    with LabelStore.open(path) as store:
        assert len(store.events()) == 1


@pytest.mark.parametrize("change, field", [(dict(label="LPV"), "label"), (dict(annotator="bob"), "annotator"),
                                           (dict(object_id="obj-8"), "object_id"), (dict(split="test"), "split"),
                                           (dict(source="import"), "source")])
def test_a_retry_that_changes_what_the_event_says_is_refused(store_factory, change, field):
    with store_factory("l") as store:
        store.record("obj-7", "Cep", annotator="ana", event_id="click-42", model_version=3)
        row = dict(object_id="obj-7", label="Cep", annotator="ana", event_id="click-42") | change
        with pytest.raises(LabelStoreError, match=f"different content \\({field} "):
            store.record(row.pop("object_id"), row.pop("label"), **row)
        # State the retrier cannot know may differ: accepted as the same event.
        assert store.record("obj-7", "Cep", annotator="ana", event_id="click-42", model_version=9,
                            confidence=None).model_version == 3


# ------------------------------------------------------------------ leases of a dead process


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False


HOLDER = """
    import sys, time
    from alabel.core.labels import LabelStore
    store = LabelStore.open(sys.argv[1], process_leases=True)
    print(",".join(store.lease(["o1", "o2", "o3"], "alice", ttl_s=3600)), flush=True)
    time.sleep(600)
"""


def test_leases_of_a_killed_server_are_free_at_once(store_url):
    path = store_url("labels")
    LabelStore.open(path).close()
    server = _python(HOLDER, str(path))
    try:
        assert server.stdout.readline().strip() == "o1,o2,o3"
        with LabelStore.open(path) as store:
            assert store.leased_by_others("bob") == {"o1", "o2", "o3"}
            assert store.lease(["o1", "o4"], "bob") == ["o4"], "a live server's leases hold"
            os.kill(server.pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while os.path.exists(f"/proc/{server.pid}") and not _zombie(server.pid):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            # Killed but not yet reaped by its parent (a zombie) is gone too.
            assert store.leased_by_others("bob") == set()
            server.wait(30)
            assert store.lease(["o1", "o2", "o3"], "bob") == ["o1", "o2", "o3"]
            assert store.leased_by_others("alice") == {"o1", "o2", "o3", "o4"}
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)
        server.stdout.close()
        server.stderr.close()


def test_leases_without_an_owner_outlive_their_process(store_url):
    """``alabel query`` leases objects to a person who labels them later."""
    path = store_url("labels")
    LabelStore.open(path).close()
    code = "import sys\nfrom alabel.core.labels import LabelStore\nLabelStore.open(sys.argv[1]).lease(['o1'], 'ann')"
    assert subprocess.run([sys.executable, "-c", code, str(path)], timeout=120).returncode == 0
    with LabelStore.open(path) as store:
        assert store.leased_by_others("bob") == {"o1"}


def test_a_reused_pid_is_not_the_owner_and_other_hosts_are_trusted(store_factory):
    host, pid, start = this_process()
    with store_factory("l") as store:
        far = 1e12
        store._db.write(lambda journal: journal.put_leases([
            Lease("mine-then", "ann", far, host, pid, "1" if start != "1" else "2"),  # our pid, older process
            Lease("mine-now", "ann", far, host, pid, start),
            Lease("elsewhere", "ann", far, "another-host", 1, "5"),
        ]))
        expected = {"mine-now", "elsewhere"} if start else {"mine-then", "mine-now", "elsewhere"}
        assert store.leased_by_others("bob") == expected


def test_anonymous_annotators_differ_per_process():
    code = "from alabel.core.labels import anonymous_annotator; print(anonymous_annotator())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    mine = anonymous_annotator()
    assert mine.startswith("anonymous@") and str(os.getpid()) in mine
    assert other.stdout.strip().startswith("anonymous@") and other.stdout.strip() != mine
