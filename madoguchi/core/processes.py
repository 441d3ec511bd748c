"""Which process holds a claim, and whether it is still alive.

A claim (a delivery batch being sent) names its process as `host:pid:start` (start: the process's
start time in clock ticks since boot, so that a pid used again by a newer process is not taken
for the old one). A worker on the same machine can then tell at once that a claimer was killed;
on another machine it cannot, and the claim's age decides (`MADOGUCHI_DELIVERY_STALE_SECONDS`).
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat); "" where /proc is not there,
    None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else ""
    except OSError:
        return ""
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return stat.rsplit(")", 1)[1].split()[19]


@functools.cache
def _host() -> str:
    return socket.gethostname()


def process_token() -> str:
    """This process, as its claims name it (a fork gets its own: the pid is read each time)."""
    pid = os.getpid()
    return f"{_host()}:{pid}:{_start_ticks(pid) or ''}"


def process_gone(token: str) -> bool:
    """True when `token` names a process of this machine that no longer runs. False when it
    runs, or is of another machine (or the token is not one of ours): nobody is declared dead
    on a guess."""
    parts = token.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _host() or not parts[1].isdigit():
        return False
    pid, start = int(parts[1]), parts[2]
    current = _start_ticks(pid)
    if current is None:
        return True
    if current == "":  # no /proc: ask the kernel whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return bool(start) and current != start
