"""Claims name their process; a worker on the same machine tells at once that a claimer died."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from madoguchi.core.processes import process_gone, process_token


def test_this_process_is_not_gone():
    token = process_token()
    assert token.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    assert not process_gone(token)


def test_a_process_that_ended_is_gone():
    child = subprocess.Popen(
        [sys.executable, "-c", "import os; print(open(f'/proc/{os.getpid()}/stat').read())"],
        stdout=subprocess.PIPE,
        text=True,
    )
    stat, _ = child.communicate()
    start = stat.rsplit(")", 1)[1].split()[19]
    assert process_gone(f"{socket.gethostname()}:{child.pid}:{start}")


def test_a_pid_used_again_by_a_newer_process_is_not_mistaken_for_the_old_one():
    assert process_gone(f"{socket.gethostname()}:{os.getpid()}:1")


def test_nothing_is_declared_dead_on_a_guess():
    assert not process_gone(f"another-host.example:{os.getpid() + 100000}:5")  # another machine
    for token in ("", "garbage", "a:b:c", f"{socket.gethostname()}:-1:5", "🙂:1:2"):
        assert not process_gone(token)
