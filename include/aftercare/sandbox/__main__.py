"""``python -m aftercare.sandbox serve [--host H] [--port P] [--seed S]``"""

from __future__ import annotations

import argparse

import uvicorn

from aftercare.sandbox.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aftercare.sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the sandbox APIs until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--seed", type=int, default=42, help="replays the same sandbox world")
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.seed), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
