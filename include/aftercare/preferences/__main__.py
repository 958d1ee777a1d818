"""``python -m aftercare.preferences serve``: the preferences service under uvicorn."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from aftercare.config import load_config
from aftercare.preferences.app import ServiceSettings, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aftercare.preferences")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="answer the links (until stopped)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(ServiceSettings.from_environment(load_config()))
    # no access log: its lines would hold the links' tokens
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, proxy_headers=True)


if __name__ == "__main__":
    main()
