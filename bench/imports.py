"""Imports and exports at size: a 10 MB Trello board, and the project it becomes exported
and imported again, through a real waitress server.

    .venv/bin/python bench/imports.py                     # SQLite, 3 runs, 10 MB
    .venv/bin/python bench/imports.py --postgres          # PostgreSQL too
    .venv/bin/python bench/imports.py --size-mb 10 --runs 5

Each run: POST /api/v1/projects/import/trello with the export (the server's VmRSS sampled
every 5 ms: its rise over idle), GET export.json of the new project, POST that to
/api/v1/projects/import. The rows are medians of the runs (seconds are the client's wall
time for the whole request, upload included). What it shows: whether a 10 MB board
imports in bounded memory and time without a job.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from run import app_env, database, flask, log, login, start_waitress
from trello_exports import export_bytes, sized_export
from upload import Sampler, rss_mb


def post_file(url: str, path: str, token: str, data: bytes, name: str) -> tuple[int, float, dict]:
    boundary = "bench" + uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=600)
    started = time.perf_counter()
    conn.request(
        "POST",
        path,
        body=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    resp = conn.getresponse()
    answer = json.loads(resp.read() or b"{}")
    conn.close()
    return resp.status, time.perf_counter() - started, answer


def get(url: str, path: str, token: str) -> tuple[int, float, bytes]:
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=600)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, time.perf_counter() - started, data


def measure(env: dict[str, str], workdir: Path, board: bytes, cards: int, runs: int) -> dict:
    flask(["db", "upgrade"], env)
    flask(["demo", "seed"], env)
    server = start_waitress("imports", "wsgi:app", env, workdir)
    try:
        token = login(server.url)
        rows: dict[str, list[float]] = {
            "trello_s": [],
            "trello_rise_mb": [],
            "export_s": [],
            "reimport_s": [],
            "reimport_rise_mb": [],
        }
        export_size = 0
        for _ in range(runs):
            time.sleep(0.5)
            idle = rss_mb(server.proc.pid)
            with Sampler(server.proc.pid) as sampler:
                status, took, project = post_file(
                    server.url, "/api/v1/projects/import/trello", token, board, "board.json"
                )
            if status != 201:
                raise SystemExit(f"the Trello import answered {status}: {project}")
            rows["trello_s"].append(took)
            rows["trello_rise_mb"].append(sampler.peak - idle)
            status, took, document = get(
                server.url, f"/api/v1/projects/{project['id']}/export.json", token
            )
            assert status == 200, status
            export_size = len(document)
            rows["export_s"].append(took)
            idle = rss_mb(server.proc.pid)
            with Sampler(server.proc.pid) as sampler:
                status, took, copy = post_file(
                    server.url, "/api/v1/projects/import", token, document, "project.json"
                )
            if status != 201:
                raise SystemExit(f"the re-import answered {status}: {copy}")
            rows["reimport_s"].append(took)
            rows["reimport_rise_mb"].append(sampler.peak - idle)
        return {
            "trello_mb": round(len(board) / 1e6, 1),
            "cards": cards,
            "export_mb": round(export_size / 1e6, 1),
            "idle_rss_mb": round(idle, 1),
            **{f"{key}_median": round(statistics.median(v), 2) for key, v in rows.items()},
            "trello_rise_mb_max": round(max(rows["trello_rise_mb"]), 1),
        }
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args(argv)
    source = sized_export(int(args.size_mb * 1e6), comments_per_card=1, checklists_per_card=1)
    board = export_bytes(source)
    cards = len(source["cards"])
    log(f"a Trello export of {len(board) / 1e6:.1f} MB, {cards} cards")
    for kind in ["sqlite"] + (["postgresql"] if args.postgres else []):
        with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
            env = app_env(url, Path(tmp) / "instance")
            row = {"database": kind, **measure(env, Path(tmp), board, cards, args.runs)}
            log(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
