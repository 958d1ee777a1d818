"""`make cluster` (`python -m sandbox.cluster`) on a port already taken: it says which port, what
it is for and how to choose another, and starts nothing (an exit with the message, no hang, no
traceback)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from sandbox.cluster import main
from sandbox.ports import free_port


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port a server listens on for the duration of the test."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Why `python -m sandbox.cluster argv` exits before it starts anything."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    assert capsys.readouterr().out == ""  # nothing started
    return str(exited.value.code)


def test_a_taken_ui_port_is_named_with_the_way_out(
    busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    why = refusal(capsys, "--port", str(busy_port), "--sandbox-port", str(free_port())).split("\n")
    # (a demo running meanwhile would have its fixed ports named too)
    assert why[0] == "make cluster cannot start:"
    assert f"  port {busy_port} (the Airflow UI: CLUSTER_PORT=N, or --port N) is taken" in why


def test_a_taken_sandbox_port_is_named_with_the_way_out(
    busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    why = refusal(capsys, "--port", str(free_port()), "--sandbox-port", str(busy_port)).split("\n")
    assert why[0] == "make cluster cannot start:"
    assert f"  port {busy_port} (the sandbox: SANDBOX_PORT=N, or --sandbox-port N) is taken" in why


def test_the_ui_and_the_sandbox_cannot_share_a_port(capsys: pytest.CaptureFixture[str]) -> None:
    port = str(free_port())
    why = refusal(capsys, "--port", port, "--sandbox-port", port)
    assert why.startswith("make cluster cannot start:\n  two of its servers would share a port")
