"""Where a request's time goes: the app, the Flask floor and the ceiling in-process, profiled.

    .venv/bin/python bench/costs.py                      # median ms per request, each app
    .venv/bin/python bench/costs.py --profile list       # pyinstrument tree of the list
    .venv/bin/python bench/costs.py --cprofile get       # cProfile, by own time
    .venv/bin/python bench/costs.py --database postgresql
    .venv/bin/python bench/costs.py --plain-dump         # marshmallow's dump: the plans' gain
    .venv/bin/python bench/costs.py --no-prepared        # SQLAlchemy runs every statement
    .venv/bin/python bench/costs.py --profile move       # a write: bench/run.py's moves
    .venv/bin/python bench/costs.py --statements move    # its SQL, and the code sending it
    .venv/bin/python bench/costs.py --no-card-cache      # every card rendered: the cache's gain

"board" is the board page as a browser logged in through the form asks for it (with
1,000 tasks: its first 50 cards a column). The writes (create, move) are bench/run.py's
write scenarios: a card created at the end of To Do, and the last cards of the board
moved to the end of the next column in turn. None of the three has a floor or ceiling.

No server and no sockets: each request is a WSGI call with a prepared environ, so the
numbers are the application's own cost (what waitress adds is the same for every app).
The database is seeded once with `flask demo seed --tasks N` and dropped afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import EMAIL, PASSWORD, app_env, database, flask, settle  # noqa: E402

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


def caller(headers: dict[str, str]) -> Callable[..., tuple[str, bytes]]:
    """call(app, path[, method, body]) -> (status, body), with environs built once per
    request kind (a body is a fresh stream each call)."""
    from werkzeug.test import EnvironBuilder

    environs: dict[tuple[str, str], dict[str, Any]] = {}

    def call(
        wsgi_app: WsgiApp, path: str, method: str = "GET", body: Any = None
    ) -> tuple[str, bytes]:
        data = b"" if body is None else json.dumps(body).encode()
        key = (method, path)
        if key not in environs:
            kind = {"Content-Type": "application/json"} if body is not None else {}
            environs[key] = EnvironBuilder(
                path=path, method=method, headers={**headers, **kind}, data=data
            ).get_environ()
        environ = dict(environs[key])
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
        status: list[str] = []
        answer = b"".join(wsgi_app(environ, lambda s, h, e=None: status.append(s)))
        return status[0], answer

    return call


def median_ms(call: Callable[[], Any], n: int) -> float:
    for _ in range(20):
        call()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def session_cookie(client: Any) -> str:
    """The demo user logged in through the /login form, as a browser is: its Cookie."""
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    if token is None:
        raise SystemExit("no csrf_token field in the /login form")
    data = {"email": EMAIL, "password": PASSWORD, "csrf_token": token[1]}
    if client.post("/login", data=data).status_code not in (302, 303):
        raise SystemExit("POST /login did not log in")
    name = client.application.config["SESSION_COOKIE_NAME"]
    return f"{name}={client.get_cookie(name).value}"


def write_requests(
    call: Callable[..., tuple[str, bytes]], app: WsgiApp, pid: str, total: int
) -> dict[str, Callable[[], Any]]:
    """bench/run.py's write scenarios as calls: a create, and a move of one of the board's
    last eight cards to the end of the next column (each answer checked)."""
    last = max((total + 49) // 50, 1)
    tail = json.loads(call(app, f"/api/v1/projects/{pid}/tasks?per_page=50&page={last}")[1])
    movers = [task["id"] for task in tail[-8:]]
    statuses = ("todo", "in_progress", "done")
    turn = {"n": 0}

    def checked(status: str, answer: tuple[str, bytes]) -> None:
        if answer[0] != status:
            raise SystemExit(f"{answer[0]}: {answer[1][:300]!r}")

    def create() -> None:
        body = {"title": "Benchmark card"}
        checked("201 CREATED", call(app, f"/api/v1/projects/{pid}/tasks", "POST", body))

    def move() -> None:
        n = turn["n"] = turn["n"] + 1
        tid = movers[n % len(movers)]
        body = {"status": statuses[(n // len(movers)) % 3], "position": 10**9}
        checked("200 OK", call(app, f"/api/v1/tasks/{tid}", "PATCH", body))

    return {"create": create, "move": move}


def print_statements(request: Callable[[], Any]) -> None:
    """Each statement the request sends, with the innermost line of Taskboard's code that
    sent it (a `before_cursor_execute` listener: SQLAlchemy's instrumented path)."""
    import traceback

    import sqlalchemy as sa

    from taskboard.extensions import db

    sent: list[tuple[str, str]] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        frames = [
            f"{Path(frame.filename).relative_to(ROOT)}:{frame.lineno} {frame.name}"
            for frame in traceback.extract_stack()
            if frame.filename.startswith(str(ROOT / "taskboard"))
        ]
        sent.append((" ".join(statement.split())[:110], frames[-1] if frames else "?"))

    import wsgi

    with wsgi.app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    for number, (statement, where) in enumerate(sent, 1):
        print(f"{number:3d}  {where}\n     {statement}")
    print(f"{len(sent)} statements")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("-n", type=int, default=500, help="requests per measurement")
    kinds = ["list", "get", "board", "create", "move"]
    parser.add_argument("--profile", choices=kinds, help="pyinstrument tree")
    parser.add_argument("--cprofile", choices=kinds, help="cProfile by own time")
    parser.add_argument(
        "--statements", choices=kinds, help="the SQL one request sends, and where from"
    )
    parser.add_argument(
        "--plain-dump",
        action="store_true",
        help="dump responses with marshmallow's own Schema.dump, not the schemas' plans",
    )
    parser.add_argument(
        "--no-prepared",
        action="store_true",
        help="run the prepared statements through SQLAlchemy's execution: their gain",
    )
    parser.add_argument(
        "--no-card-cache",
        action="store_true",
        help="render every card of the board page anew: the card cache's gain",
    )
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="taskboard-profile-") as tmp,
        database(args.database, Path(tmp)) as url,
    ):
        env = app_env(url, Path(tmp) / "instance")
        flask(["db", "upgrade"], env)
        flask(["demo", "seed", "--tasks", str(args.tasks)], env)
        settle(url)
        os.environ.update(env)
        import logging

        import wsgi
        from bench import bare, floor

        if args.plain_dump:
            import marshmallow

            from taskboard.api import schemas

            schemas.Schema.dump = marshmallow.Schema.dump  # type: ignore[method-assign]
        if args.no_prepared:
            import taskboard.database as taskboard_database

            taskboard_database._has_listeners = lambda engine: True  # as if one listened

        if args.no_card_cache:
            from taskboard.web import card_html

            card_html.ENTRIES = 0  # each fragment dropped as soon as it is kept

        logging.getLogger("taskboard.request").setLevel(logging.WARNING)
        bare.DB = bare.Database(url)
        client = wsgi.app.test_client()
        token = client.post(
            "/api/v1/auth/tokens", json={"email": EMAIL, "password": PASSWORD}
        ).json["access_token"]
        call = caller({"Authorization": f"Bearer {token}"})
        projects = client.get(
            "/api/v1/projects?per_page=100", headers={"Authorization": f"Bearer {token}"}
        ).json
        pid = next(p["id"] for p in projects if p["title"] == "Benchmark")
        first = call(wsgi.app, f"/api/v1/projects/{pid}/tasks?per_page=1")[1]
        tid = first.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()
        paths = {
            "list": f"/api/v1/projects/{pid}/tasks?per_page=50&page=2",
            "get": f"/api/v1/tasks/{tid}",
        }
        for name, path in paths.items():
            answers = [call(a, path)[0] for a in (wsgi.app, floor.app, bare.app)]
            if answers != ["200 OK"] * 3:
                raise SystemExit(f"{name}: {answers}")
        writes = write_requests(call, wsgi.app, pid, args.tasks)
        page = caller({"Cookie": session_cookie(client)})
        if page(wsgi.app, f"/projects/{pid}")[0] != "200 OK":
            raise SystemExit("the board page does not answer 200")
        requests: dict[str, Callable[[], Any]] = {
            **{name: (lambda p=path: call(wsgi.app, p)) for name, path in paths.items()},
            "board": lambda: page(wsgi.app, f"/projects/{pid}"),
            **writes,
        }

        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002)
            with profiler:
                for _ in range(args.n):
                    requests[args.profile]()
            print(profiler.output_text(color=False))
        elif args.statements:
            requests[args.statements]()  # warm: caches filled, as for every later request
            print_statements(requests[args.statements])
        elif args.cprofile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.n):
                requests[args.cprofile]()
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        else:
            for name, path in paths.items():
                app_ms = median_ms(requests[name], args.n)
                bare_ms = median_ms(lambda p=path: call(bare.app, p), args.n)
                floor_ms = median_ms(lambda p=path: call(floor.app, p), args.n)
                print(
                    f"{args.database:10s} {name:6s} taskboard {app_ms:6.3f} ms  "
                    f"flask floor {floor_ms:6.3f} ms  bare {bare_ms:6.3f} ms  "
                    f"(taskboard {app_ms / bare_ms:4.1f}x, floor {floor_ms / bare_ms:4.1f}x bare)"
                )
            for name in ("board", *writes):
                ms = median_ms(requests[name], args.n)
                print(f"{args.database:10s} {name:6s} taskboard {ms:6.3f} ms")
        from taskboard.extensions import db

        with wsgi.app.app_context():
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
