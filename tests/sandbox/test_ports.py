"""Ports for local servers: outside the range outgoing connections take theirs from, never one
a server listens on (at any address), never twice from one process."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sandbox import ports
from sandbox.ports import free_port, port_taken


def _ephemeral() -> range:
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


@pytest.mark.skipif(
    not ports._below_ephemeral(), reason="no room below the ephemeral range here (or not Linux)"
)
def test_ports_come_from_below_the_ephemeral_range_and_never_twice() -> None:
    handed = [free_port() for _ in range(200)]
    assert len(set(handed)) == len(handed)
    assert not [port for port in handed if port in _ephemeral() or port < 20_000]


def test_a_port_listened_on_at_another_address_is_not_handed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.11", 0))  # a cluster worker's own address
        server.listen()
        busy = server.getsockname()[1]
        assert port_taken(busy, "") and not port_taken(busy)
        # the port after it, one free at every address (busy came from the ephemeral range,
        # where the machine's outgoing connections may hold busy + 1), never handed out here
        monkeypatch.setattr(ports, "_handed_out", set())
        free = next(port for port in range(busy + 1, busy + 100) if not port_taken(port, ""))
        picks = iter([busy, free])
        monkeypatch.setattr(ports, "_below_ephemeral", lambda: range(busy, free + 1))
        monkeypatch.setattr(ports._pick, "choice", lambda _range: next(picks))
        assert free_port() == free


def test_without_a_known_range_the_kernel_picks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ports, "_EPHEMERAL", tmp_path / "missing")
    port = free_port()
    assert port > 0 and not port_taken(port, "")
