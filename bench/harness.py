"""What the benchmarks share: a free port, a fresh demo city in its own PostgreSQL database, and
linesim in a process of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), 0 when it is gone."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes `pid` started (a gunicorn master's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry))
    return found


def database_backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving connections to `database`."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]).fetchall()
    return [pid for (pid,) in rows]
