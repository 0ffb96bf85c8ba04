"""The container files say what the spec asks: checked as data, since no Docker runs here."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_web_worker_redis_postgres_after_the_migration() -> None:
    services = compose()["services"]
    assert {"web", "worker", "redis", "postgres", "migrate"} <= services.keys()
    assert services["migrate"]["command"] == ["flask", "db", "upgrade"]
    assert services["worker"]["command"] == ["flask", "worker"]
    for name in ("web", "worker"):
        after = services[name]["depends_on"]
        assert after["migrate"]["condition"] == "service_completed_successfully"
        assert after["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker", "migrate"):
        env = services[name]["environment"]
        assert env["TASKBOARD_ENV"] == "production"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # refuses to start without one
        assert env["BASE_URL"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["REDIS_URL"] == "redis://redis:6379/0"


def test_dockerfile_runs_waitress_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1] not in ("root", "0")
    cmd = re.findall(r"^CMD (.+)$", text, re.M)[-1]
    assert "waitress-serve" in cmd and "0.0.0.0:${PORT}" in cmd and "wsgi:app" in cmd
    for path in ("taskboard", "templates", "static", "migrations", "wsgi.py"):
        assert re.search(rf"^COPY {re.escape(path)} ", text, re.M), path


def test_attachments_are_shared_by_the_web_servers_and_workers() -> None:
    """One host: a volume every web replica and worker mounts; several: the optional S3."""
    data = compose()
    services = data["services"]
    for name in ("web", "worker"):
        assert "attachments:/app/instance/attachments" in services[name]["volumes"]
        env = services[name]["environment"]
        for setting in ("ATTACHMENT_STORAGE", "S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"):
            assert setting in env
    assert services["s3"]["profiles"] == ["s3"]  # optional
    assert "attachments" in data["volumes"]
    nginx = data["configs"]["nginx"]["content"]
    assert "client_max_body_size 30m;" in nginx  # 25 MiB files get through the proxy
    cmd = re.findall(r"^CMD (.+)$", (ROOT / "Dockerfile").read_text(), re.M)[-1]
    assert "--max-request-body-size=" in cmd
