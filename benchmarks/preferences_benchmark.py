"""The preferences service under load: one-click unsubscribe POSTs (RFC 8058) from many clients
at once, against GET /health on the same service in the same run (the baseline: the HTTP stack
alone, no token, no store).

    .venv/bin/python benchmarks/preferences_benchmark.py [--requests 3000] [--clients 16]

A share of the POSTs repeat an earlier token (a client retrying, a mailbox and the candidate
both posting): each distinct opt-out must be in the store exactly once, and in the feed. Prints
requests per second and latency p50 / p99 of each phase, and the counts (target: at least 200
POSTs a second, none lost, none doubled).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import requests

from aftercare.config import CONFIG_ENV, config_path
from aftercare.messages import unsubscribe_link
from aftercare.preferences.process import start_service
from sandbox.ports import free_port

SECRET = "benchmark-signing-secret"  # noqa: S105
FEED_TOKEN = "benchmark-feed-token"  # noqa: S105


def _calls(calls: list[tuple[str, str, dict | None]], threads: int) -> list[tuple[float, int]]:
    """One client process: the calls from ``threads`` threads, each with its own session;
    each call's latency (ms) and status."""
    sessions = [requests.Session() for _ in range(threads)]

    def one(index: int) -> tuple[float, int]:
        method, url, form = calls[index]
        started = time.perf_counter()
        response = sessions[index % threads].request(method, url, data=form, timeout=30)
        return (time.perf_counter() - started) * 1000, response.status_code

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(len(calls))))


def phase(
    pool: ProcessPoolExecutor, processes: int, threads: int, calls: list
) -> tuple[float, list[float], list[int]]:
    """The calls spread over the client processes: requests per second over the phase,
    latencies (ms), statuses."""
    started = time.perf_counter()
    shares = pool.map(
        _calls, [calls[n::processes] for n in range(processes)], [threads] * processes
    )
    results = [result for share in shares for result in share]
    took = time.perf_counter() - started
    return len(calls) / took, [r[0] for r in results], [r[1] for r in results]


def report(name: str, rate: float, latencies: list[float]) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{name:<22} {rate:8.0f} req/s   p50 {cuts[49]:6.1f} ms   p99 {cuts[98]:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="POSTs (and GETs)")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--clients", type=int, default=8, help="threads per client process")
    parser.add_argument("--repeat-share", type=float, default=0.2, help="POSTs repeating a token")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="preferences-benchmark-"))
    store = folder / "events.sqlite"
    config = folder / "aftercare.yaml"
    # every request comes from 127.0.0.1: lift the per-client limit for the benchmark
    config.write_text(
        config_path().read_text()
        + f"\npreferences:\n  store_path: {store}\n  requests_per_minute: 100000000\n"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_service(port, SECRET, FEED_TOKEN, config=config)
    try:
        distinct = int(args.requests * (1 - args.repeat_share))
        links = [
            unsubscribe_link(f"{base}/unsubscribe", SECRET, n, "email", f"check_in:placement:{n}:1")
            for n in range(1, distinct + 1)
        ]
        posts = [("POST", link, {"List-Unsubscribe": "One-Click"}) for link in links]
        posts += posts[: args.requests - distinct]  # the repeats, interleaved below
        posts = posts[::2] + posts[1::2]
        gets = [("GET", f"{base}/health", None)] * args.requests
        with ProcessPoolExecutor(args.processes) as pool:
            phase(pool, args.processes, args.clients, gets[:200])  # warm up
            get_rate, get_ms, get_status = phase(pool, args.processes, args.clients, gets)
            post_rate, post_ms, post_status = phase(pool, args.processes, args.clients, posts)
        feed: list[dict] = []
        while True:
            page = requests.get(
                f"{base}/feed",
                params={"after": feed[-1]["seq"] if feed else 0, "limit": 5000},
                headers={"Authorization": f"Bearer {FEED_TOKEN}"},
                timeout=30,
            ).json()["events"]
            if not page:
                break
            feed += page
    finally:
        process.terminate()
        process.wait(timeout=30)
    with sqlite3.connect(store) as db:
        stored = db.execute("select count(*), count(distinct candidate_id) from events").fetchone()
    print(
        f"{args.requests} requests a phase from {args.processes} x {args.clients} clients"
        f" ({CONFIG_ENV} in {folder})"
    )
    report("GET /health (baseline)", get_rate, get_ms)
    report("POST one-click", post_rate, post_ms)
    print(f"ratio POST / baseline: {post_rate / get_rate:.2f}")
    bad = sum(s != 200 for s in post_status) + sum(s != 200 for s in get_status)
    print(f"non-200 answers: {bad}")
    print(
        f"opt-outs: {distinct} distinct posted ({args.requests - distinct} repeats); "
        f"store {stored[0]} rows for {stored[1]} candidates; feed {len(feed)} events "
        f"for {len({e['candidate_id'] for e in feed})} candidates"
    )
    ok = post_rate >= 200 and stored[0] == stored[1] == distinct == len(feed) and not bad
    print("target (>= 200 POSTs/s, none lost, none doubled):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
