"""``python -m sandbox serve [--host H] [--port P] [--seed S] [--placements N]
[--clock-start YYYY-MM-DD] [--smtp-port N] [--settings-json JSON] [--state-file PATH]``

``--settings-json`` takes a whole `SandboxSettings` object; the other options override it. The
SMTP sink listens on ``--smtp-port`` (default 8025) next to the HTTP port. With ``--state-file``,
the sandbox continues the world saved there (if the file exists; its settings then win), and
``POST /sandbox/state`` saves its world there.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import uvicorn

from sandbox.app import SandboxSettings, create_app
from sandbox.server import DEFAULT_PORT
from sandbox.smtp import DEFAULT_SMTP_PORT, SmtpSink


def settings_from(args: argparse.Namespace) -> SandboxSettings:
    """The settings of ``--settings-json``, overridden by the explicit options."""
    data = json.loads(args.settings_json or "{}")
    if args.seed is not None:
        data["seed"] = args.seed
    for name in ("placements", "clock_start"):
        if getattr(args, name) is not None:
            data.setdefault("ats", {})[name] = getattr(args, name)
    return SandboxSettings.model_validate(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the sandbox APIs until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--seed", type=int, help="replays the same sandbox world (default 42)")
    serve.add_argument("--placements", type=int, help="placements in the ATS (default 10000)")
    serve.add_argument("--clock-start", type=date.fromisoformat, help="the ATS clock's first day")
    serve.add_argument("--smtp-port", type=int, default=DEFAULT_SMTP_PORT, help="the SMTP sink")
    serve.add_argument("--settings-json", help="a SandboxSettings object as JSON")
    serve.add_argument("--state-file", type=Path, help="the world to continue and save")
    args = parser.parse_args(argv)
    app = create_app(settings_from(args), args.state_file)
    sink = SmtpSink(app.state.smtp, args.host, args.smtp_port).start()
    try:
        uvicorn.run(
            app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=1
        )
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
