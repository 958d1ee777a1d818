"""The sandbox: real HTTP, a health endpoint, a deterministic seed, runnable as a process."""

from __future__ import annotations

import socket

import pytest
import requests

from aftercare.sandbox import SandboxServer, create_app
from aftercare.sandbox.server import start_process


def test_fixture_serves_health_on_a_free_port(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.url}/health", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "seed": 42, "services": []}
    assert sandbox.port != 0


def test_two_sandboxes_run_side_by_side_and_stop() -> None:
    with SandboxServer(seed=1) as first, SandboxServer(seed=2) as second:
        assert first.port != second.port
        seeds = [requests.get(f"{s.url}/health", timeout=5).json()["seed"] for s in (first, second)]
        assert seeds == [1, 2]
    with socket.socket() as probe:  # the port is free again once stopped
        probe.bind(("127.0.0.1", first.port))


def test_seed_replays_the_same_world() -> None:
    def draws(seed: int) -> list[float]:
        rng = create_app(seed).state.sandbox.rng
        return [rng.random() for _ in range(5)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


def test_serve_command_runs_as_a_process() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = start_process(port, seed=5)
    try:
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["seed"] == 5
    finally:
        process.terminate()
        assert process.wait(timeout=10) is not None


def test_serve_command_refuses_a_taken_port() -> None:
    with SandboxServer(seed=1) as other:
        with pytest.raises(RuntimeError, match=f"port {other.port}"):
            start_process(other.port, seed=2)
