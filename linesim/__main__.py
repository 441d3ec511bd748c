"""`linesim` / `python -m linesim`: run the local LINE platform (options in docs/linesim.md)."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from linesim.app import Config, create_app


def main() -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="linesim", description="A local LINE platform for development and tests."
    )
    parser.add_argument("--host", default=env("LINESIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("LINESIM_PORT") or env("SIM_PORT") or 8001))
    parser.add_argument("--channel-id", default=env("LINESIM_CHANNEL_ID", "2000000001"))
    parser.add_argument("--channel-secret", default=env("LINESIM_CHANNEL_SECRET", "linesim-demo-secret"))
    parser.add_argument("--access-token", default=env("LINESIM_ACCESS_TOKEN", "linesim-demo-token"))
    parser.add_argument(
        "--webhook-url", default=env("LINESIM_WEBHOOK_URL", "http://127.0.0.1:8000/line/main/webhook")
    )
    parser.add_argument("--reply-token-ttl", type=float, default=float(env("LINESIM_REPLY_TOKEN_TTL", "60")))
    parser.add_argument("--no-rate-limits", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = Config(
        host=args.host,
        port=args.port,
        channel_id=args.channel_id,
        channel_secret=args.channel_secret,
        access_token=args.access_token,
        webhook_url=args.webhook_url,
        reply_token_ttl=args.reply_token_ttl,
        rate_limits=not args.no_rate_limits,
    )
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
