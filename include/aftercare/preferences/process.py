"""The preferences service as a child process (the demo, the tests and the benchmark start it
this way): ``python -m aftercare.preferences serve`` with its secrets in its environment,
returned once it answers ``/health``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from aftercare import PROJECT_ROOT
from aftercare.config import CONFIG_ENV
from aftercare.preferences.app import FEED_TOKEN_ENV, SECRET_ENV


def start_service(
    port: int,
    secret: str,
    feed_token: str,
    *,
    config: Path | None = None,
    log: Path | None = None,
    timeout: float = 30,
) -> subprocess.Popen:
    """The service on ``127.0.0.1:port`` (``config``: another config file than the
    environment's), its output to ``log`` (else discarded); `RuntimeError` when it does not
    answer within ``timeout`` seconds."""
    env = os.environ | {SECRET_ENV: secret, FEED_TOKEN_ENV: feed_token}
    if config is not None:
        env[CONFIG_ENV] = str(config)
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child's
    process = subprocess.Popen(
        [sys.executable, "-m", "aftercare.preferences", "serve", "--port", str(port)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    if log:
        output.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the preferences service exited with {process.returncode}")
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"the preferences service did not answer on port {port}")
