"""The sandbox: real HTTP, a health endpoint, a deterministic seed, runnable as a process."""

from __future__ import annotations

import smtplib
import socket

import pytest
import requests

from sandbox import SandboxServer, SandboxSettings, create_app
from sandbox.__main__ import main
from sandbox.ats import AtsSandboxSettings
from sandbox.ports import free_port
from sandbox.server import start_process

SMALL = AtsSandboxSettings(placements=200)


def test_fixture_serves_health_on_a_free_port(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.url}/health", timeout=5)

    assert response.status_code == 200
    services = ["ats", "sendgrid", "sendspark", "smtp", "trustpilot", "twilio"]
    assert response.json() == {"status": "ok", "seed": 42, "services": services}
    assert sandbox.port != 0


def test_two_sandboxes_run_side_by_side_and_stop() -> None:
    with (
        SandboxServer(SandboxSettings(seed=1, ats=SMALL)) as first,
        SandboxServer(SandboxSettings(seed=2, ats=SMALL)) as second,
    ):
        assert first.port != second.port
        seeds = [requests.get(f"{s.url}/health", timeout=5).json()["seed"] for s in (first, second)]
        assert seeds == [1, 2]
    with socket.socket() as probe:  # the port is free again once stopped
        probe.bind(("127.0.0.1", first.port))


def test_seed_replays_the_same_world() -> None:
    def world(seed: int) -> list[dict]:
        app = create_app(SandboxSettings(seed=seed, ats=SMALL))
        return app.state.ats.world.truth("Candidate", 0, 50)

    assert world(7) == world(7)
    assert world(7) != world(8)


def test_apps_do_not_share_state() -> None:
    first, second = (create_app(SandboxSettings(ats=SMALL)) for _ in range(2))

    first.state.ats.world.advance(1)

    assert first.state.ats.world.now > second.state.ats.world.now
    assert first.state.ats.world.truth("Placement", 0, 300) != second.state.ats.world.truth(
        "Placement", 0, 300
    )


def test_settings_reject_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        SandboxSettings.model_validate({"seed": 1, "sms": {}})


def test_serve_command_runs_as_a_process() -> None:
    port, smtp_port = free_port(), free_port()
    settings = SandboxSettings(seed=5, ats=AtsSandboxSettings(placements=120))
    process = start_process(port, settings, smtp_port=smtp_port)
    try:
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["seed"] == 5
        truth = requests.get(f"http://127.0.0.1:{port}/sandbox/ats/truth/Placement", timeout=5)
        assert truth.json()["total"] == 120  # the settings reached the child process
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as smtp:  # the SMTP sink too
            assert smtp.noop()[0] == 250
    finally:
        process.terminate()
        assert process.wait(timeout=10) is not None


def test_serve_command_options_override_the_settings_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[SandboxSettings] = []
    monkeypatch.setattr(
        "sandbox.__main__.uvicorn.run",
        lambda app, **_: served.append(app.state.settings),
    )
    main(
        ["serve", "--seed", "9", "--placements", "30", "--clock-start", "2027-01-04"]
        + ["--smtp-port", "0"]
        + ["--settings-json", '{"seed": 1, "ats": {"placements": 5, "dirty_share": 0.5}}']
    )

    assert served[0].seed == 9
    assert served[0].ats.placements == 30
    assert str(served[0].ats.clock_start) == "2027-01-04"
    assert served[0].ats.dirty_share == 0.5


def test_serve_command_refuses_a_taken_port() -> None:
    with SandboxServer(SandboxSettings(seed=1, ats=SMALL)) as other:
        with pytest.raises(RuntimeError, match=f"port {other.port}"):
            start_process(other.port, SandboxSettings(seed=2, ats=SMALL), smtp_port=0)
