"""Two checkouts of Taskboard side by side, in process, turn about: which is faster.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/compare.py /tmp/before .              # SQLite
    .venv/bin/python bench/compare.py /tmp/before . --database postgresql
    .venv/bin/python bench/compare.py /tmp/before . --requests create,move --clock cpu

This machine's speed drifts by half and more from one minute to the next, so two runs of
bench/costs.py taken a minute apart compare the machine as much as the code. Here each
checkout runs in its own process on its own database (`flask demo seed --tasks 1000`,
as bench/costs.py seeds it), and the two take turns: a short block of one request kind
in one, then the same in the other, the order swapped every round. Each block's median
is compared with its neighbour's, and the median of those ratios is printed with the
medians of each side. Both checkouts need bench/costs.py's `caller`, `session_cookie`
and `write_requests` (there since 2026-12-03).

The requests are bench/costs.py's: the API's list (a page of 50 tasks) and one task with
a bearer token, the board page with a session cookie, bench/run.py's create and move.
`--clock cpu` times the process's CPU instead of the wall clock: what a request costs of
the one core a waitress process's threads share, without the waits for PostgreSQL (which
other threads fill under load).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOCKS = {"list": 30, "get": 100, "board": 10, "create": 20, "move": 20}  # requests a block


def worker(root: Path, kind: str, clock: str) -> None:
    """Serve blocks of requests from one checkout: read "<request> <n>", print a median."""
    sys.path.insert(0, str(root))
    from bench.costs import caller, session_cookie, write_requests
    from bench.run import EMAIL, PASSWORD, app_env, database, flask, settle

    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        env = app_env(url, Path(tmp) / "instance")
        flask(["db", "upgrade"], env)
        flask(["demo", "seed", "--tasks", "1000"], env)
        settle(url)
        os.environ.update(env)
        import logging

        import wsgi

        logging.getLogger("taskboard.request").setLevel(logging.WARNING)
        client = wsgi.app.test_client()
        login = {"email": EMAIL, "password": PASSWORD}
        token = client.post("/api/v1/auth/tokens", json=login).json["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        call = caller(bearer)
        projects = client.get("/api/v1/projects?per_page=100", headers=bearer).json
        pid = next(p["id"] for p in projects if p["title"] == "Benchmark")
        first = call(wsgi.app, f"/api/v1/projects/{pid}/tasks?per_page=1")[1]
        tid = first.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()
        page = caller({"Cookie": session_cookie(client)})
        requests = {
            "list": lambda: call(wsgi.app, f"/api/v1/projects/{pid}/tasks?per_page=50&page=2"),
            "get": lambda: call(wsgi.app, f"/api/v1/tasks/{tid}"),
            "board": lambda: page(wsgi.app, f"/projects/{pid}"),
            **write_requests(call, wsgi.app, pid, 1000),
        }
        for request in requests.values():
            for _ in range(10):
                request()
        print("ready", flush=True)
        now = time.process_time if clock == "cpu" else time.perf_counter
        for line in sys.stdin:
            name, n = line.split()
            times = []
            for _ in range(int(n)):
                started = now()
                requests[name]()
                times.append(now() - started)
            print(statistics.median(times) * 1000, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the checkout to compare against")
    parser.add_argument("after", type=Path, help="the checkout to measure")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--requests", default=",".join(BLOCKS), help="of " + ", ".join(BLOCKS))
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker.resolve(), args.database, args.clock)
        return 0
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    procs = {
        side: subprocess.Popen(
            [
                sys.executable,
                __file__,
                ".",
                ".",
                "--database",
                args.database,
                "--clock",
                args.clock,
                "--worker",
                str(root),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for side, root in sides.items()
    }
    for side, proc in procs.items():
        assert proc.stdout is not None
        while (line := proc.stdout.readline()) and line.strip() != "ready":
            pass
        if not line:
            raise SystemExit(f"the {side} checkout did not start")
    blocks = {name: BLOCKS[name] for name in args.requests.split(",")}
    medians: dict[str, dict[str, list[float]]] = {k: {s: [] for s in sides} for k in blocks}
    for turn in range(args.rounds):
        for name, n in blocks.items():
            for side in ("before", "after") if turn % 2 == 0 else ("after", "before"):
                proc = procs[side]
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(f"{name} {n}\n")
                proc.stdin.flush()
                medians[name][side].append(float(proc.stdout.readline()))
    for name, by_side in medians.items():
        before, after = by_side["before"], by_side["after"]
        ratio = statistics.median(a / b for a, b in zip(after, before, strict=True))
        print(
            f"{args.database:10s} {name:6s} {args.clock} "
            f"before {statistics.median(before):7.3f} ms  "
            f"after {statistics.median(after):7.3f} ms  after/before {ratio:.2f}"
        )
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
