"""Upload memory: what a 20 MiB attachment costs the web process's resident memory.

    .venv/bin/python bench/upload.py                 # folder storage, SQLite, 5 uploads
    .venv/bin/python bench/upload.py --s3            # S3 storage (moto's server), too
    .venv/bin/python bench/upload.py --size-mib 25 --runs 9

waitress with the app as `bench/run.py` starts it; the demo user's token; a multipart body
streamed from a generator (never built in the client's memory either). While each upload
runs, the server's VmRSS is read from /proc every 5 ms; the row is the rise over the idle
value measured just before (median and max of the runs), then the download of the same
file the same way. Target: within 20 MB of idle for a 20 MiB file.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import app_env, database, flask, log, login, request, start_waitress

TARGET_RISE_MB = 20.0
CHUNK = 256 * 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Sampler:
    """The highest VmRSS of a process seen while it runs, every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running = False
        self.thread.join()

    def _run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.005)


def multipart(size: int, boundary: str) -> tuple[Iterator[bytes], int]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def parts() -> Iterator[bytes]:
        yield head
        sent = 0
        block = os.urandom(CHUNK)
        while sent < size:
            piece = block[: min(CHUNK, size - sent)]
            sent += len(piece)
            yield piece
        yield tail

    return parts(), len(head) + size + len(tail)


def upload(url: str, token: str, task_id: str, size: int) -> tuple[int, float, str]:
    boundary = "bench" + uuid.uuid4().hex
    body, length = multipart(size, boundary)
    host = url.removeprefix("http://")
    conn = http.client.HTTPConnection(host, timeout=120)
    started = time.perf_counter()
    conn.putrequest("POST", f"/api/v1/tasks/{task_id}/attachments")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(length))
    conn.endheaders()
    for piece in body:
        conn.send(piece)
    resp = conn.getresponse()
    answer = json.loads(resp.read() or b"{}")
    conn.close()
    return resp.status, time.perf_counter() - started, answer.get("id", "")


def download(url: str, token: str, attachment_id: str) -> int:
    host = url.removeprefix("http://")
    conn = http.client.HTTPConnection(host, timeout=120)
    conn.request(
        "GET",
        f"/api/v1/attachments/{attachment_id}/download",
        headers={"Authorization": f"Bearer {token}"},
    )
    resp = conn.getresponse()
    total = 0
    while block := resp.read(CHUNK):
        total += len(block)
    conn.close()
    return total


def measure(env: dict[str, str], workdir: Path, size: int, runs: int, label: str) -> dict:
    flask(["db", "upgrade"], env)
    flask(["demo", "seed"], env)
    server = start_waitress(f"upload-{label}", "wsgi:app", env, workdir)
    try:
        token = login(server.url)
        auth = {"Authorization": f"Bearer {token}"}
        _, projects, _ = request(server.url, "GET", "/api/v1/projects", headers=auth)
        pid = projects[0]["id"]
        _, task, _ = request(
            server.url, "POST", f"/api/v1/projects/{pid}/tasks", {"title": "Files"}, headers=auth
        )
        # One small upload and download first: imports and pools warm, not counted.
        status, _, first = upload(server.url, token, task["id"], 64 * 1024)
        assert status == 201, status
        download(server.url, token, first)
        rises, down_rises, seconds = [], [], []
        for _ in range(runs):
            time.sleep(0.5)
            idle = rss_mb(server.proc.pid)
            with Sampler(server.proc.pid) as sampler:
                status, took, attachment_id = upload(server.url, token, task["id"], size)
            if status != 201:
                raise SystemExit(f"upload answered {status}")
            rises.append(sampler.peak - idle)
            seconds.append(took)
            idle = rss_mb(server.proc.pid)
            with Sampler(server.proc.pid) as sampler:
                got = download(server.url, token, attachment_id)
            assert got == size, got
            down_rises.append(sampler.peak - idle)
        return {
            "storage": label,
            "file_mib": size / 1024 / 1024,
            "idle_rss_mb": round(idle, 1),
            "upload_rise_mb_median": round(statistics.median(rises), 1),
            "upload_rise_mb_max": round(max(rises), 1),
            "download_rise_mb_median": round(statistics.median(down_rises), 1),
            "download_rise_mb_max": round(max(down_rises), 1),
            "upload_s_median": round(statistics.median(seconds), 2),
        }
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--s3", action="store_true", help="also on S3 (moto's server)")
    args = parser.parse_args(argv)
    size = int(args.size_mib * 1024 * 1024)
    rows = []
    kinds = ["folder"] + (["s3"] if args.s3 else [])
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp, database("sqlite", Path(tmp)) as url:
            workdir = Path(tmp)
            env = app_env(url, workdir / "instance")
            moto = None
            if kind == "s3":
                from moto.server import ThreadedMotoServer
                from run import free_port

                port = free_port()
                moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
                moto.start()
                env.update(
                    ATTACHMENT_STORAGE="s3://bench/files",
                    S3_ENDPOINT_URL=f"http://127.0.0.1:{port}",
                    AWS_ACCESS_KEY_ID="bench",
                    AWS_SECRET_ACCESS_KEY="bench",
                )
            try:
                log(f"{kind}: {args.runs} uploads of {args.size_mib} MiB")
                row = measure(env, workdir, size, args.runs, kind)
            finally:
                if moto is not None:
                    moto.stop()
            log(json.dumps(row))
            rows.append(row)
    print()
    print(
        "| storage | file MiB | idle RSS MB | upload rise MB (median / max) "
        "| download rise MB (median / max) | upload s |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['storage']} | {r['file_mib']:.0f} | {r['idle_rss_mb']} | "
            f"{r['upload_rise_mb_median']} / {r['upload_rise_mb_max']} | "
            f"{r['download_rise_mb_median']} / {r['download_rise_mb_max']} | "
            f"{r['upload_s_median']} |"
        )
    worst = max(r["upload_rise_mb_max"] for r in rows)
    verdict = "met" if worst <= TARGET_RISE_MB else "MISSED"
    print(
        f"\ntarget: an upload within {TARGET_RISE_MB:.0f} MB of idle RSS: {verdict} "
        f"(worst {worst} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
