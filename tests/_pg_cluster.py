"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temporary folder, socket only.

``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` user (``runuser -u postgres --``) in a folder given to it; as
another user it runs as that user. No TCP: the server listens on a Unix
socket in its folder only (``listen_addresses=''``).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

INSTALL_HINT = "apt-get install -y postgresql (Debian) — .ci/run installs it"


def find_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding initdb (or initdb on PATH).

    ``ALABEL_TEST_PG_BIN`` names the folder instead (another install; a folder
    without initdb means "not installed").
    """
    chosen = os.environ.get("ALABEL_TEST_PG_BIN")
    if chosen:
        return Path(chosen) if (Path(chosen) / "initdb").is_file() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class Cluster:
    """One PostgreSQL server in a temporary folder; ``url(schema)`` names a store in it."""

    PORT = 54329
    USER = "alabel"
    DATABASE = "alabel_tests"

    def __init__(self, bin_dir: Path, *, fsync: bool = True):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="alabel-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        self._options = f"-p {self.PORT} -k {self.root} -c listen_addresses='' -c fsync={'on' if fsync else 'off'}"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.USER, "--no-sync")
        self.start()
        self.sql(f"CREATE DATABASE {self.DATABASE}", database="postgres")

    def _run(self, tool: str, *args: str) -> str:
        command = [str(self.bin / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: like a crash, no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, schema: str | None = None, database: str | None = None, password: str | None = None) -> str:
        """A store URL on this server (each schema is a separate store)."""
        user = f"{self.USER}:{password}" if password else self.USER
        url = f"postgresql://{user}@/{database or self.DATABASE}?host={self.root}&port={self.PORT}"
        if schema:
            url += f"&options=-csearch_path%3D{schema}"
        return url

    def sql(self, statement: str, database: str | None = None, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(database=database), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def new_schema(self, hint: str = "s") -> str:
        schema = f"{''.join(c for c in hint.lower() if c.isalnum())[:30]}_{uuid.uuid4().hex[:10]}"
        self.sql(f"CREATE SCHEMA {schema}")
        return schema

    def destroy(self) -> None:
        try:
            self.stop()
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)
