"""`madoguchi demo`: the demo city on this machine, in one command.

Migrates the database (SQLite by default), loads the demo city, starts linesim and the web
server as child processes, prints the URLs, and runs the task worker in this process until
Ctrl+C, which stops everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.core.management.commands.serve import gunicorn_argv
from madoguchi.core.worker import run_worker
from madoguchi.demo.setup import (
    COUNSELING_ACCESS_TOKEN,
    COUNSELING_CHANNEL_ID,
    COUNSELING_CHANNEL_SECRET,
    DEMO_ACCESS_TOKEN,
    DEMO_CHANNEL_ID,
    DEMO_CHANNEL_SECRET,
    DEMO_LIFF_ID,
    DEMO_LOGIN_CHANNEL_ID,
    demo_setup,
)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError(f"{what} stopped at start (exit {process.returncode}); is its port taken?")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise CommandError(f"{what} did not start within {timeout:.0f} s")


class Command(BaseCommand):
    help = "Run the demo city: web, worker and linesim, with the demo channel and a staff login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--sim-port", type=int, default=int(os.environ.get("SIM_PORT", "8001")))
        parser.add_argument("--no-serve", action="store_true", help="set up only, start nothing")

    def handle(self, *args: Any, port: int, sim_port: int, no_serve: bool, **options: Any) -> None:
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        login = demo_setup()
        if no_serve:
            self.stdout.write(f"staff login: {login.username} / {login.password}")
            return
        web = f"http://127.0.0.1:{port}"
        sim = f"http://127.0.0.1:{sim_port}"
        env = {**os.environ, "MADOGUCHI_LINE_API_HOST": sim, "PORT": str(port)}
        settings.LINE_API_HOST = sim  # the in-process worker talks to this linesim too
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "linesim",
                    "--port",
                    str(sim_port),
                    "--channel-id",
                    DEMO_CHANNEL_ID,
                    "--channel-secret",
                    DEMO_CHANNEL_SECRET,
                    "--access-token",
                    DEMO_ACCESS_TOKEN,
                    "--webhook-url",
                    f"{web}/line/main/webhook",
                ],
                env=env,
            ),
            subprocess.Popen(gunicorn_argv("127.0.0.1", port, 2, 4), env=env),
        ]
        try:
            _wait_until_up(f"{sim}/_sim/stats", children[0], "linesim")
            # The counseling line is a second LINE account: linesim learns it from its control API.
            httpx.post(
                f"{sim}/_sim/channels",
                json={
                    "channelId": COUNSELING_CHANNEL_ID,
                    "channelSecret": COUNSELING_CHANNEL_SECRET,
                    "accessToken": COUNSELING_ACCESS_TOKEN,
                    "webhookUrl": f"{web}/line/soudan/webhook",
                },
                timeout=10,
            ).raise_for_status()
            # The LIFF app: linesim's phone opens https://liff.line.me/<id>/... at the web's /liff/.
            httpx.post(
                f"{sim}/_sim/liff/apps",
                json={
                    "liffId": DEMO_LIFF_ID,
                    "channelId": DEMO_LOGIN_CHANNEL_ID,
                    "endpointUrl": f"{web}/liff/",
                },
                timeout=10,
            ).raise_for_status()
            _wait_until_up(f"{web}/healthz", children[1], "web server")
            self.stdout.write(
                "\n".join(
                    [
                        "",
                        f"console: {web}/console/  (login {login.username} / {login.password})",
                        "         (demo-admin, demo-auditor, demo-counselor: same password, two-factor at first login)",
                        f"phone:   {sim}/phone",
                        f"         (the counseling line: {sim}/phone?channel={COUNSELING_CHANNEL_ID})",
                        f"linesim: {sim}",
                        f"webhook: {web}/line/main/webhook",
                        f"ready in {time.monotonic() - started:.1f} s; Ctrl+C stops everything",
                        "",
                    ]
                )
            )
            self.stdout.flush()
            run_worker(interval=0.2, tick_every=5.0)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
