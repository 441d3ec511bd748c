"""What the benchmarks share: a free port, a fresh demo city in its own PostgreSQL database, and
linesim in a process of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_demo_city(database: str, env: dict[str, str]) -> None:
    """Drop and make `database`, migrate it and set the demo city up in it."""
    pg = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *pg, "--if-exists", database], check=True)
    subprocess.run(["createdb", *pg, database], check=True)
    madoguchi = [sys.executable, "-m", "madoguchi"]
    subprocess.run([*madoguchi, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*madoguchi, "demo_setup"], env=env, check=True, stdout=subprocess.DEVNULL)


def start_linesim(port: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    """linesim on `port`, and a client of its control API once it answers."""
    linesim = subprocess.Popen([sys.executable, "-m", "linesim", "--port", str(port)], env=env)
    sim = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    for _ in range(100):
        try:
            sim.get("/_sim/stats").raise_for_status()
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return linesim, sim


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, None when the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields  # a zombie has ended


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), 0 when it is gone."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def peak_rss_mb(pid: int) -> float:
    """A process's resident-memory high-water mark (VmHWM), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """The live processes `pid` started (a gunicorn master's workers, a worker supervisor's child)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def worker_child(supervisor: int, timeout: float = 30, not_this: int | None = None) -> int:
    """The working child of a `madoguchi worker` supervisor (another than `not_this`), once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [pid for pid in children(supervisor) if pid != not_this]
        if found:
            return found[0]
        time.sleep(0.01)
    raise SystemExit("the worker supervisor started no child")


def database_backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving connections to `database`."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]).fetchall()
    return [pid for (pid,) in rows]
