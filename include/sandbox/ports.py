"""Ports for the local servers the sandbox, the demo, the cluster, the tests and the benchmarks
start, chosen where nothing else will take them before the server binds."""

from __future__ import annotations

import random
import socket
from pathlib import Path

#: Where Linux takes the local ports of outgoing connections from.
_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Ports handed out below the ephemeral range start here (above the registered services most
#: machines run: Postgres 5432, Redis 6379, Airflow's 8080, ...).
_LOWEST = 20_000
#: Ports this process has handed out (a server may not have bound one yet).
_handed_out: set[int] = set()
#: Seeded by the system, not by a test's `random.seed`: parallel test processes pick apart.
_pick = random.SystemRandom()


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server of this machine listens on ``port`` at ``host`` (or every address;
    ``""``: at any address, the cluster workers' own included)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _below_ephemeral() -> range:
    try:
        low = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return range(0)
    return range(_LOWEST, low) if low - _LOWEST >= 1_000 else range(0)


def free_port() -> int:
    """A port no address of this machine listens on, for a server started a moment later.

    Asking the kernel for port 0 would pick one from the ephemeral range, where the next
    outgoing connection (to Postgres, the sandbox, a provider) may take it before the server
    binds it: a server that then fails with "address already in use". So the port comes from
    below that range, at random (processes of a parallel test run rarely meet), never twice
    from one process; the kernel's pick only where no such range is known."""
    ports = _below_ephemeral()
    for port in (_pick.choice(ports) for _ in range(200 if ports else 0)):
        if port not in _handed_out and not port_taken(port, ""):
            _handed_out.add(port)
            return port
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]
