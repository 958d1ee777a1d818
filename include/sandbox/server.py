"""Running the sandbox: in a background thread (tests) or as a process (demo, `make airflow`)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from contextlib import nullcontext
from pathlib import Path
from types import TracebackType

import requests
import uvicorn
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from sandbox.app import SandboxSettings, create_app
from sandbox.smtp import DEFAULT_SMTP_PORT, SmtpSink

#: Where ``python -m sandbox serve`` listens unless told otherwise.
DEFAULT_PORT = 8765


class SandboxServer:
    """The sandbox on 127.0.0.1 in a background thread, on a free port unless one is given, and
    its SMTP sink on another free port (``smtp_port``) unless one is given; continuing the
    world saved in ``state_file``, if given and there (``create_app``).

    >>> with SandboxServer(SandboxSettings(seed=7)) as sandbox:
    ...     requests.get(f"{sandbox.url}/health").json()["seed"]
    7
    """

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        smtp_port: int = 0,
        state_file: Path | None = None,
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))  # port 0: the kernel picks a free one, no race
        self.host, self.port = self._socket.getsockname()[:2]
        self.app = create_app(settings, state_file)
        self.settings: SandboxSettings = self.app.state.settings
        self.smtp = SmtpSink(self.app.state.smtp, host, smtp_port)
        self.smtp_port = self.smtp.port
        # Calls held back by a timeout_after_accept fault must not hold up stopping.
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self.smtp.start()
        self._thread.start()
        wait_until_healthy(self.url)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
        self.smtp.stop()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_for_http(
    url: str, process: subprocess.Popen | None = None, seconds: float = 60
) -> requests.Response:
    """Poll ``url`` until it answers 2xx (``seconds`` at most); fail at once if ``process``, the
    server being waited for, has exited (say, because its port is taken)."""

    def attempt() -> requests.Response:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"the process exited with code {process.returncode} before answering"
            )
        response = requests.get(url, timeout=2)
        response.raise_for_status()
        return response

    retrying = Retrying(
        retry=retry_if_exception_type(requests.RequestException),
        wait=wait_fixed(0.2),
        stop=stop_after_delay(seconds),
        reraise=True,
    )
    return retrying(attempt)


def wait_until_healthy(url: str, process: subprocess.Popen | None = None) -> dict[str, object]:
    """The sandbox's ``/health`` once it answers (a big ATS world takes a few seconds)."""
    return wait_for_http(f"{url}/health", process).json()


def launch_process(
    port: int,
    settings: SandboxSettings | None = None,
    log_path: str | None = None,
    smtp_port: int = DEFAULT_SMTP_PORT,
    state_file: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``python -m sandbox serve`` as a child process, returned at once: it answers
    once `await_started` says so (its SMTP sink on ``smtp_port``; 0 for any free port; the
    world of ``state_file`` continued, if given and there)."""
    settings = settings or SandboxSettings()
    with open(log_path, "ab") if log_path else nullcontext(subprocess.DEVNULL) as log:
        return subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve"]
            + ["--port", str(port), "--smtp-port", str(smtp_port)]
            + ["--settings-json", settings.model_dump_json()]
            + (["--state-file", str(state_file)] if state_file else []),
            stdout=log,
            stderr=subprocess.STDOUT,
            # a session of its own: a terminal's Ctrl-C reaches the parent, which stops it (after
            # saving its world, for make demo and make airflow), not the sandbox mid-save
            start_new_session=True,
        )


def await_started(
    process: subprocess.Popen[bytes],
    port: int,
    settings: SandboxSettings | None = None,
    log_path: str | None = None,
) -> None:
    """Wait until the launched sandbox answers on ``port``; stop it and fail clearly if it
    exits first or another process answers there."""
    settings = settings or SandboxSettings()
    try:
        health = wait_until_healthy(f"http://127.0.0.1:{port}", process)
    except Exception as exc:
        process.terminate()
        raise RuntimeError(
            f"the sandbox did not start on port {port} (port in use?); log: {log_path}"
        ) from exc
    if health.get("seed") != settings.seed:  # another process answered on that port
        process.terminate()
        raise RuntimeError(f"port {port} is served by another process, not this sandbox")


def start_process(
    port: int,
    settings: SandboxSettings | None = None,
    log_path: str | None = None,
    smtp_port: int = DEFAULT_SMTP_PORT,
) -> subprocess.Popen[bytes]:
    """``python -m sandbox serve`` as a child process, returned once healthy (its SMTP
    sink on ``smtp_port``; 0 for any free port)."""
    process = launch_process(port, settings, log_path, smtp_port)
    await_started(process, port, settings, log_path)
    return process
