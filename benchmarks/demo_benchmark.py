"""A newcomer's first minutes: `make demo` on a fresh clone, then again in the same clone (a
benchmark, not a test).

    python3 benchmarks/demo_benchmark.py [--ref HEAD] [--baseline REF] [--days 3] [--cold-cache]

Clones this repository at ``--ref`` into a temporary folder, runs ``make demo`` there twice (the
first run installs the venv, the second finds it), and prints where the time of each went:
install, preparing Airflow and the sandbox, the DAG runs by DAG, the summary, the total. With
``--baseline REF`` it first does the same for an older commit (say the one before a change) and
prints each figure of ``--ref`` as a ratio to the baseline's (machines are noisy: compare
ratios measured in one run). ``--cold-cache`` gives each clone empty uv and pip caches, as on a
machine that has never installed the pinned set (every wheel is downloaded again).

The phases are read off the times at which ``make demo``'s lines appear, so the same reading
works for commits whose demo prints differently: install ends when make starts the demo's
Python; the runs start with the first ``run`` line and end with the last; what lies between is
preparing (Airflow's metadata database, pools, connections, the sandbox).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: a finished run: "run  dispatch  2026-12-01 09:00 UTC  ok in 2.8 s" (older: "ok (16.9 s)")
RUN_DONE = re.compile(r"^run\s+(\w+)\s.*\bok (?:in |\()([\d.]+) s")


def timed_lines(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> list[tuple]:
    """Run ``argv``; each line of its output with the seconds since the start it arrived at.
    The output also goes to ``log``; a failure prints its tail and exits."""
    started = time.monotonic()
    lines = []
    with log.open("w") as out:
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in process.stdout:
            lines.append((time.monotonic() - started, line.rstrip("\n")))
            out.write(line)
        process.wait()
    lines.append((time.monotonic() - started, ""))
    if process.returncode:
        print("\n".join(text for _, text in lines[-30:]))
        sys.exit(f"{' '.join(argv)} failed in {cwd}; log: {log}")
    return lines


def phases(lines: list[tuple]) -> dict[str, float]:
    """Seconds per phase of one `make demo`, read off when its lines appeared; the DAG runs
    also by DAG (the sum of what each run took)."""
    total = lines[-1][0]
    demo_start = next((t for t, text in lines if "sandbox.localdev demo" in text), 0.0)
    run_lines = [(t, text) for t, text in lines if text.startswith("run ")]
    first_run, last_run = run_lines[0][0], run_lines[-1][0]
    figures = {
        "install": demo_start,
        "prepare (Airflow, sandbox)": first_run - demo_start,
        "DAG runs": last_run - first_run,
    }
    by_dag: dict[str, list[float]] = defaultdict(list)
    for _, text in run_lines:
        if found := RUN_DONE.match(text):
            by_dag[found[1]].append(float(found[2]))
    for dag, seconds in sorted(by_dag.items()):
        figures[f"  {dag} runs (x{len(seconds)})"] = sum(seconds)
    figures["summary, stop"] = total - last_run
    figures["total"] = total
    return figures


def measure(ref: str, days: int, cold_cache: bool, work: Path) -> dict[str, dict[str, float]]:
    """Clone ``ref`` afresh, run `make demo` twice there; the phases of both."""
    clone = work / f"clone-{ref.replace('/', '_')}"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", ref], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))}
    if cold_cache:
        env["UV_CACHE_DIR"] = str(work / f"uv-cache-{clone.name}")
        env["PIP_CACHE_DIR"] = str(work / f"pip-cache-{clone.name}")
    results = {}
    for attempt in ("fresh clone", "second demo"):
        log = work / f"{clone.name}-{attempt.replace(' ', '-')}.log"
        print(f"{ref}: make demo DAYS={days}, {attempt} (log: {log}) ...", flush=True)
        lines = timed_lines(["make", "demo", f"DAYS={days}"], clone, env, log)
        results[attempt] = phases(lines)
        print(f"{ref}: {attempt} took {results[attempt]['total']:.0f} s", flush=True)
    return results


def report(ref: str, results: dict, baseline: dict | None) -> None:
    for attempt, figures in results.items():
        print(f"\n{ref}, {attempt}:")
        base = (baseline or {}).get(attempt, {})
        for phase, seconds in figures.items():
            ratio = ""
            if base.get(phase, 0) >= 0.5:  # a ratio to nothing says nothing
                ratio = f"   x{seconds / base[phase]:.2f} of the baseline's {base[phase]:.1f} s"
            print(f"  {phase:<30} {seconds:7.1f} s{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="HEAD", help="the commit to measure (default HEAD)")
    parser.add_argument("--baseline", help="an older commit, measured first the same way")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--cold-cache", action="store_true", help="empty uv and pip caches")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aftercare-demo-bench-") as tmp:
        work = Path(tmp)
        baseline = None
        if args.baseline:
            baseline = measure(args.baseline, args.days, args.cold_cache, work)
        results = measure(args.ref, args.days, args.cold_cache, work)
        if baseline:
            report(args.baseline, baseline, None)
        report(args.ref, results, baseline)


if __name__ == "__main__":
    main()
