"""A throw-away PostgreSQL 15 cluster for tests: ``initdb`` into a temporary folder, a server on
127.0.0.1 with trust authentication, stopped and deleted afterwards.

PostgreSQL refuses to run as root; as root (CI) the folder is given to the ``postgres`` user and
the server binaries run through ``runuser -u postgres``. :func:`unavailable` says why a machine
cannot start one (the tests then skip with that reason)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path(os.environ.get("PRIVACY_PROFILE_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def unavailable() -> str | None:
    """Why no throw-away cluster can start here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]' or '.[postgres]')"
    if not (PG_BIN / "initdb").is_file():
        return f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql-15)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root without runuser: cannot start PostgreSQL as postgres"
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server"
    return None


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster; yields its URL (``postgresql://postgres@127.0.0.1:PORT/postgres``)."""
    root = Path(tempfile.mkdtemp(prefix="pp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(_as_postgres([*initdb, "--no-sync"]), check=True, capture_output=True)
    opts = (
        f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c max_connections=60 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data)]
    start = [*ctl, "-o", opts, "-l", str(root / "log"), "-w", "-t", "120", "start"]
    proc = subprocess.run(_as_postgres(start), capture_output=True, text=True)
    if proc.returncode != 0:
        log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {proc.stderr}\n{log}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([*ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
