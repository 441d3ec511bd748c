"""What the benchmarks share: a free port, a fresh demo city in its own PostgreSQL database, and
linesim in a process of its own."""

from __future__ import annotations

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
