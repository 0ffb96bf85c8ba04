"""Real processes for the tests: `flask` commands and waitress serving wsgi:app on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "REDIS_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "TASKBOARD_INSTANCE": str(instance),
            "SECRET_KEY": "http-test-secret",
            "FLASK_APP": "wsgi",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def flask(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "flask"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand a 3xx back as the answer (with its Set-Cookie) instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECT = urllib.request.build_opener(_NoRedirect)


@dataclass
class Response:
    status: int
    headers: Any  # case-insensitive, as HTTP header names are
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class LiveServer:
    url: str
    log_path: Path

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        token: str | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> Response:
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        opener = urllib.request.urlopen if follow_redirects else _NO_REDIRECT.open
        try:
            with opener(req, timeout=30) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, err.headers, err.read())

    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def live_server(env: dict[str, str], tmp: Path) -> Iterator[LiveServer]:
    """waitress-serve wsgi:app on a free loopback port, after `flask db upgrade`."""
    flask(["db", "upgrade"], env)
    port = free_port()
    log_path = tmp / f"waitress-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(BIN / "waitress-serve"), "--listen", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError("waitress exited:\n" + server.log())
            try:
                if server.request("GET", "/healthz").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("waitress did not answer in 30 s:\n" + server.log())
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
