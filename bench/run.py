"""Taskboard's speed, measured: wrk against waitress on SQLite and PostgreSQL, next to a ceiling.

    .venv/bin/python bench/run.py            # 1,000 and 100,000 tasks, SQLite and PostgreSQL,
                                             # plus two processes behind nginx (~8 minutes)
    .venv/bin/python bench/run.py --quick    # 1,000 tasks, SQLite only, 3 s per row

For each database and size: a fresh database seeded with `flask demo seed --tasks N`, the app
under waitress on loopback (production-like: rate limits off so nothing answers 429, jobs
queued rather than run inline), a real access token for demo@example.com, and wrk (2 threads,
16 connections) against each scenario. bench/bare.py serves the same pages from the same
database with no framework: the ceiling. Results are printed and written to bench/results/.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
EMAIL, PASSWORD = "demo@example.com", "taskboard-demo"
BOARD_CARDS = 500
THREADS, CONNECTIONS = 2, 16

# Targets (issue 6): ratios to the bare ceiling, latency and memory bounds.
TARGET_LIST_RATIO = 0.5
TARGET_GET_RATIO = 0.7
TARGET_P99_MS = 100.0
TARGET_SCALE = 1.3
TARGET_BOARD_MS = 150.0
TARGET_RSS_MB = 150.0


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_tool(command: str, package: str) -> str:
    """The tool's path, installing its Debian package when it is missing."""
    found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin")
    if found:
        return found
    log(f"{command} is missing: apt-get install -y {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", "install", "-y", package], check=True, env=env, stdout=subprocess.DEVNULL
    )
    found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin")
    if not found:
        raise SystemExit(f"could not install {package}")
    return found


# Databases ---------------------------------------------------------------------------


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database of that kind; its SQLAlchemy URL. Dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    import psycopg

    name = f"taskboard_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield "postgresql+psycopg://" + PG_ADMIN.split("://", 1)[1].rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settle(url: str) -> None:
    """Let PostgreSQL catch up with the bulk load before measuring (what autovacuum does
    within minutes anyway), so the rows measure the steady state, not the clean-up."""
    if not url.startswith("postgresql"):
        return
    import psycopg

    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute("VACUUM ANALYZE")


def app_env(url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "REDIS_"))}
    env.update(
        {
            "DATABASE_URL": url,
            "TASKBOARD_INSTANCE": str(instance),
            "SECRET_KEY": "bench-secret-" + "x" * 32,
            "FLASK_APP": "wsgi",
            "RATELIMIT_ENABLED": "false",
            "HUEY_IMMEDIATE": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def flask(args: list[str], env: dict[str, str]) -> float:
    """Run a flask command from the repository root; its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


# Servers -----------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory(self) -> dict[str, float]:
        """Peak (VmHWM) and current (VmRSS) resident memory of the process, in MB."""
        found = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0]) / 1024
        return {"peak_rss_mb": round(found["VmHWM"], 1), "rss_mb": round(found["VmRSS"], 1)}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_waitress(name: str, target: str, env: dict[str, str], workdir: Path) -> Server:
    port = free_port()
    log_path = workdir / f"{name}-{port}.log"
    with open(log_path, "w") as out:
        proc = subprocess.Popen(
            [str(BIN / "waitress-serve"), "--listen", f"127.0.0.1:{port}", target],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(name, port, proc, log_path)
    wait_until_up(server.url, "/healthz" if target == "wsgi:app" else "/", proc, log_path)
    return server


def wait_until_up(url: str, path: str, proc: subprocess.Popen | None, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"{url} exited:\n{log_path.read_text()}")
        try:
            status, _, _ = request(url, "GET", path)
            if status < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer in 30 s:\n{log_path.read_text()}")
        time.sleep(0.2)


def request(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> tuple[int, Any, http.client.HTTPResponse]:
    """One HTTP request (no redirects followed); status, decoded body, response."""
    parsed = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    kind = resp.getheader("Content-Type") or ""
    return (
        resp.status,
        json.loads(raw) if "json" in kind and raw else raw.decode(errors="replace"),
        resp,
    )


# wrk ---------------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    label: str
    method: str
    paths: list[str]
    bodies: list[str] = field(default_factory=list)


def run_wrk(
    wrk: str, url: str, scenario: Scenario, duration: float, token: str = "", cookie: str = ""
) -> dict[str, Any]:
    env = {
        **os.environ,
        "BENCH_METHOD": scenario.method,
        "BENCH_PATHS": " ".join(scenario.paths),
        "BENCH_BODIES": "|".join(scenario.bodies),
        "BENCH_TOKEN": token,
        "BENCH_COOKIE": cookie,
    }
    done = subprocess.run(
        [
            wrk,
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{max(int(duration), 1)}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "wrk.lua"),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    match = re.search(r"^BENCH_RESULT (.*)$", done.stdout, re.M)
    if done.returncode != 0 or not match:
        raise SystemExit(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(match[1])
    errors = sum(result["errors"].values())
    if errors:
        log(f"  {scenario.key}: {errors} errors {result['errors']}")
    return result


def warm(url: str, scenario: Scenario, token: str, cookie: str = "", n: int = 5) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if cookie:
        headers["Cookie"] = cookie
    for i in range(n):
        body = json.loads(scenario.bodies[i % len(scenario.bodies)]) if scenario.bodies else None
        status, payload, _ = request(
            url, scenario.method, scenario.paths[i % len(scenario.paths)], body, headers
        )
        if status >= 400:
            raise SystemExit(
                f"{scenario.key}: {scenario.method} {scenario.paths[0]} -> "
                f"{status} {str(payload)[:300]}"
            )


def sequential_ms(url: str, path: str, headers: dict[str, str], n: int) -> list[float]:
    """Latency of n requests one after another on one keep-alive connection (server time)."""
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    times = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            times.append((time.perf_counter() - started) * 1000)
            if resp.status != 200:
                raise SystemExit(f"GET {path} -> {resp.status}")
    finally:
        conn.close()
    return times


# The scenarios -----------------------------------------------------------------------


def login(url: str) -> str:
    """A token for the demo account."""
    status, body, _ = request(
        url, "POST", "/api/v1/auth/tokens", {"email": EMAIL, "password": PASSWORD}
    )
    if status != 201:
        raise SystemExit(f"POST /api/v1/auth/tokens -> {status} {body}")
    return body["access_token"]


def benchmark_project(url: str, token: str) -> tuple[str, int]:
    auth = {"Authorization": f"Bearer {token}"}
    _, projects, _ = request(url, "GET", "/api/v1/projects?per_page=100", headers=auth)
    project = next(p for p in projects if p["title"] == "Benchmark")
    _, _, resp = request(
        url, "GET", f"/api/v1/projects/{project['id']}/tasks?per_page=1", headers=auth
    )
    return project["id"], json.loads(resp.getheader("X-Pagination"))["total"]


def read_scenarios(url: str, token: str, pid: str, total: int) -> list[Scenario]:
    auth = {"Authorization": f"Bearer {token}"}
    deep = max(total // 50 // 2, 1)
    list_path = f"/api/v1/projects/{pid}/tasks?per_page=50"
    _, first, _ = request(url, "GET", list_path, headers=auth)
    return [
        Scenario("list_first", "list 50 tasks, page 1", "GET", [list_path]),
        Scenario("list_deep", f"list 50 tasks, page {deep}", "GET", [f"{list_path}&page={deep}"]),
        Scenario("get_task", "get one task", "GET", [f"/api/v1/tasks/{first[0]['id']}"]),
    ]


def write_scenarios(url: str, token: str, pid: str, total: int) -> list[Scenario]:
    """Create at the end of To Do; move cards from the end of one column to the next's end."""
    auth = {"Authorization": f"Bearer {token}"}
    last = max((total + 49) // 50, 1)
    _, tail, _ = request(
        url, "GET", f"/api/v1/projects/{pid}/tasks?per_page=50&page={last}", headers=auth
    )
    movers = [task["id"] for task in tail[-8:]]
    moves = [json.dumps({"status": s, "position": 10**9}) for s in ("todo", "in_progress", "done")]
    return [
        Scenario(
            "create",
            "create a task",
            "POST",
            [f"/api/v1/projects/{pid}/tasks"],
            [json.dumps({"title": "Benchmark card"})],
        ),
        Scenario(
            "move",
            "move a task (status + position)",
            "PATCH",
            [f"/api/v1/tasks/{tid}" for tid in movers],
            moves,
        ),
    ]


def session_cookie(url: str) -> tuple[str | None, str]:
    """Log in through the /login form: the session cookie, or None and why not."""
    status, page, resp = request(url, "GET", "/login")
    if status == 404:
        return None, "no web pages yet (GET /login answers 404)"
    if status != 200:
        return None, f"GET /login answers {status}"
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if not match:
        return None, "no csrf_token field in the /login form"
    cookies = _cookies(resp)
    status, _, resp = request(
        url,
        "POST",
        "/login",
        form={"email": EMAIL, "password": PASSWORD, "csrf_token": match[1]},
        headers={"Cookie": cookies},
    )
    cookies = _merge_cookies(cookies, _cookies(resp))  # login starts a new session
    if status not in (302, 303):
        return None, f"POST /login answers {status}"
    return cookies, ""


def _merge_cookies(old: str, new: str) -> str:
    """A Cookie header from two: a cookie set again keeps only its newer value."""
    jar: dict[str, str] = {}
    for pair in filter(None, (old + "; " + new).split("; ")):
        name, _, value = pair.partition("=")
        jar[name] = value
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def _cookies(resp: http.client.HTTPResponse) -> str:
    return "; ".join(v.split(";", 1)[0] for k, v in resp.getheaders() if k.lower() == "set-cookie")


def board_project(url: str, token: str) -> str:
    """A project with exactly BOARD_CARDS cards (made through the API, once per database)."""
    auth = {"Authorization": f"Bearer {token}"}
    _, projects, _ = request(url, "GET", "/api/v1/projects?per_page=100", headers=auth)
    title = f"Board of {BOARD_CARDS}"
    found = next((p for p in projects if p["title"] == title), None)
    if found:
        return found["id"]
    _, project, _ = request(url, "POST", "/api/v1/projects", {"title": title}, auth)
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    statuses = ("todo",) * 5 + ("in_progress",) * 3 + ("done",) * 2
    for i in range(BOARD_CARDS):
        conn.request(
            "POST",
            f"/api/v1/projects/{project['id']}/tasks",
            json.dumps({"title": f"Card {i}", "status": statuses[i % 10]}),
            {**auth, "Content-Type": "application/json"},
        )
        conn.getresponse().read()
    conn.close()
    return project["id"]


# One database, one size ---------------------------------------------------------------


def bench_size(
    wrk: str, kind: str, size: int, env: dict[str, str], workdir: Path, duration: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    app = start_waitress(f"taskboard-{kind}-{size}", "wsgi:app", env, workdir)
    bare = start_waitress(f"bare-{kind}-{size}", "bench.bare:app", env, workdir)
    floor = start_waitress(f"flask-{kind}-{size}", "bench.floor:app", env, workdir)
    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    try:
        token = login(app.url)
        pid, total = benchmark_project(app.url, token)

        def measure(server: Server, scenario: Scenario, cookie: str = "") -> dict[str, Any]:
            warm(server.url, scenario, token if not cookie else "", cookie)
            result = run_wrk(
                wrk, server.url, scenario, duration, token if not cookie else "", cookie
            )
            row = {
                "database": kind,
                "tasks": total,
                "server": server.name.split("-")[0],
                "scenario": scenario.key,
                "label": scenario.label,
                **result,
            }
            if server is app:
                row.update(app.memory())
            rows.append(row)
            log(
                f"  {row['server']:9} {scenario.label:34} {result['rps']:8.1f} req/s  "
                f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms"
            )
            return row

        reads = read_scenarios(app.url, token, pid, total)
        # Each pair back to back, so a busy neighbour on the machine hits both alike; then
        # the bare SQL through Flask (bench/floor.py): what the framework alone costs.
        for scenario in reads:
            measure(app, scenario)
            measure(bare, scenario)
            measure(floor, scenario)
        cookie, why = session_cookie(app.url)
        if cookie is None:
            extra["board"] = {"skipped": why}
            log(f"  board page with {BOARD_CARDS} cards: skipped, {why}")
        else:
            board = board_project(app.url, token)
            path = f"/projects/{board}"
            scenario = Scenario("board", f"board page, {BOARD_CARDS} cards", "GET", [path])
            measure(app, scenario, cookie)
            times = sequential_ms(app.url, path, {"Cookie": cookie}, 30)
            extra["board"] = {"median_ms": round(statistics.median(times), 1), "cards": BOARD_CARDS}
            log(f"  board page, one client: median {statistics.median(times):.1f} ms")
        for scenario in write_scenarios(app.url, token, pid, total):
            measure(app, scenario)
        extra["memory"] = app.memory()
    finally:
        app.stop()
        bare.stop()
        floor.stop()
    return rows, extra


# Scale-out ----------------------------------------------------------------------------


NGINX_CONF = """
daemon off;
user root;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream taskboard {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://taskboard;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


@contextmanager
def nginx(ports: list[int], workdir: Path) -> Iterator[str]:
    """nginx on a free loopback port, round-robin over the given upstream ports."""
    binary = ensure_tool("nginx", "nginx")
    tmp = Path(tempfile.mkdtemp(prefix="nginx-", dir=workdir))
    port = free_port()
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in ports)
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp, servers=servers, port=port))
    proc = subprocess.Popen(
        [binary, "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", "/healthz", proc, tmp / "error.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def scale_out(
    wrk: str, kind: str, env: dict[str, str], workdir: Path, duration: float
) -> list[dict[str, Any]]:
    """The list benchmark through nginx to one waitress process, then to two."""
    apps = [
        start_waitress(f"taskboard-{kind}-scale{i}", "wsgi:app", env, workdir) for i in range(2)
    ]
    rows = []
    try:
        token = login(apps[0].url)
        pid, total = benchmark_project(apps[0].url, token)
        scenario = read_scenarios(apps[0].url, token, pid, total)[0]
        for count in (1, 2):
            with nginx([a.port for a in apps[:count]], workdir) as url:
                warm(url, scenario, token, n=10)
                result = run_wrk(wrk, url, scenario, duration, token)
                rows.append(
                    {
                        "database": kind,
                        "tasks": total,
                        "processes": count,
                        "scenario": scenario.key,
                        **result,
                        "peak_rss_mb": [a.memory()["peak_rss_mb"] for a in apps[:count]],
                    }
                )
                log(
                    f"  nginx -> {count} waitress: {result['rps']:8.1f} req/s  "
                    f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms"
                )
    finally:
        for a in apps:
            a.stop()
    return rows


# Report -------------------------------------------------------------------------------


def check(rows: list[dict[str, Any]], extras: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target, met or not, from the measured rows."""
    found = {(r["database"], r["size"], r["server"], r["scenario"]): r for r in rows}
    checks = []

    def add(name: str, value: float, limit: float, ok: bool, unit: str = "") -> None:
        op = "≥" if "vs bare" in name else ("≤" if "vs smallest" in name else "<")
        checks.append(
            {
                "target": name,
                "value": round(value, 2),
                "limit": limit,
                "met": ok,
                "unit": unit,
                "op": op,
            }
        )

    for (kind, size, server, scenario), row in sorted(found.items()):
        if server != "taskboard":
            continue
        where = f"{kind} {size:,}"
        bare = found.get((kind, size, "bare", scenario))
        if scenario.startswith("list") and bare:
            ratio = row["rps"] / bare["rps"]
            add(f"{where} {scenario} vs bare", ratio, TARGET_LIST_RATIO, ratio >= TARGET_LIST_RATIO)
        if scenario == "get_task" and bare:
            ratio = row["rps"] / bare["rps"]
            add(f"{where} get_task vs bare", ratio, TARGET_GET_RATIO, ratio >= TARGET_GET_RATIO)
        if scenario.startswith("list"):
            add(
                f"{where} {scenario} p99",
                row["p99_ms"],
                TARGET_P99_MS,
                row["p99_ms"] < TARGET_P99_MS,
                "ms",
            )
        small = found.get((kind, min(s for (k, s, _, _) in found if k == kind), server, scenario))
        if scenario.startswith("list") and small and small is not row:
            ratio = row["p50_ms"] / small["p50_ms"]
            add(f"{where} {scenario} p50 vs smallest", ratio, TARGET_SCALE, ratio <= TARGET_SCALE)
        add(
            f"{where} {scenario} peak RSS",
            row["peak_rss_mb"],
            TARGET_RSS_MB,
            row["peak_rss_mb"] < TARGET_RSS_MB,
            "MB",
        )
    for key, extra in extras.items():
        board = extra.get("board", {})
        if "median_ms" in board:
            add(
                f"{key} board median",
                board["median_ms"],
                TARGET_BOARD_MS,
                board["median_ms"] < TARGET_BOARD_MS,
                "ms",
            )
    return checks


def print_table(rows: list[dict[str, Any]]) -> None:
    found = {(r["database"], r["size"], r["server"], r["scenario"]): r for r in rows}
    print()
    print(
        f"{'database':10} {'tasks':>7} {'scenario':34} {'req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'bare req/s':>10} {'ratio':>6} {'flask/bare':>10} {'peak MB':>7}"
    )
    for (kind, size, server, scenario), row in found.items():
        if server != "taskboard":
            continue
        bare = found.get((kind, size, "bare", scenario))
        floor = found.get((kind, size, "flask", scenario))
        bare_rps = f"{bare['rps']:.0f}" if bare else "-"
        ratio = f"{row['rps'] / bare['rps']:.2f}" if bare else "-"
        floor_ratio = f"{floor['rps'] / bare['rps']:.2f}" if bare and floor else "-"
        print(
            f"{kind:10} {row['tasks']:>7} {row['label']:34} {row['rps']:8.0f} "
            f"{row['p50_ms']:7.1f} {row['p99_ms']:7.1f} {bare_rps:>10} {ratio:>6} "
            f"{floor_ratio:>10} {row.get('peak_rss_mb', 0):7.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1,000 tasks, SQLite only, 3 s per row, no nginx",
    )
    parser.add_argument("--sizes", default="1000,100000", help="task counts, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk row")
    parser.add_argument("--no-scale-out", action="store_true", help="skip the nginx rows")
    parser.add_argument("--output", type=Path, help="JSON file (default: bench/results/…)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.databases, args.duration, args.no_scale_out = "1000", "sqlite", 3, True
    sizes = sorted(int(s) for s in args.sizes.split(","))
    kinds = [k.strip() for k in args.databases.split(",")]
    wrk = ensure_tool("wrk", "wrk")
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    extras: dict[str, Any] = {}
    seeds: dict[str, float] = {}
    scale: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="taskboard-bench-") as tmp:
        workdir = Path(tmp)
        for kind in kinds:
            instance = workdir / f"instance-{kind}"
            with database(kind, workdir) as url:
                env = app_env(url, instance)
                flask(["db", "upgrade"], env)
                for size in sizes:
                    seconds = flask(["demo", "seed", "--tasks", str(size)], env)
                    seeds[f"{kind} {size}"] = round(seconds, 1)
                    log(f"{kind}, {size:,} tasks (seeded in {seconds:.1f} s)")
                    settle(url)
                    size_rows, extra = bench_size(wrk, kind, size, env, workdir, args.duration)
                    for row in size_rows:
                        row["size"] = size
                    rows += size_rows
                    extras[f"{kind} {size:,}"] = extra
                if kind == "postgresql" and not args.no_scale_out:
                    log(f"{kind}: scale-out behind nginx, {sizes[-1]:,} tasks")
                    scale = scale_out(wrk, kind, env, workdir, args.duration)
    checks = check(rows, extras)
    print_table(rows)
    if scale:
        print()
        for row in scale:
            print(
                f"nginx -> {row['processes']} waitress ({row['database']}, {row['tasks']} "
                f"tasks, list page 1): {row['rps']:.0f} req/s, p50 {row['p50_ms']:.1f} ms, "
                f"p99 {row['p99_ms']:.1f} ms"
            )
    for key, extra in extras.items():
        board = extra.get("board", {})
        if "skipped" in board:
            print(f"{key}: board page skipped: {board['skipped']}")
    print()
    for item in checks:
        print(
            f"{'ok  ' if item['met'] else 'MISS'} {item['target']}: {item['value']}"
            f"{item['unit']} (target {item['op']}"
            f" {item['limit']}{item['unit']})"
        )
    elapsed = time.monotonic() - started
    print(f"\nwhole run: {elapsed:.0f} s")
    output = args.output or BENCH / "results" / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    output.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "commit": commit,
                "quick": args.quick,
                "threads": THREADS,
                "connections": CONNECTIONS,
                "duration_s": args.duration,
                "seed_seconds": seeds,
                "rows": rows,
                "extras": extras,
                "scale_out": scale,
                "checks": checks,
                "elapsed_s": round(elapsed, 1),
            },
            indent=2,
        )
    )
    print(f"results: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
