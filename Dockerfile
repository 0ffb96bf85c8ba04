# Taskboard: one image for the web server and the queue worker (docker-compose.yml runs both).
#   docker build -t taskboard .
#   docker run -e TASKBOARD_ENV=production -e SECRET_KEY=… -e BASE_URL=… -e DATABASE_URL=… \
#              -e REDIS_URL=… -p 8000:8000 taskboard            # web (the default command)
#   docker run … taskboard flask worker                          # worker
#   docker run … taskboard flask db upgrade                      # migrations
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=wsgi \
    PORT=8000 \
    TASKBOARD_INSTANCE=/app/instance

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY wsgi.py ./
COPY taskboard ./taskboard
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations

# A user without a login shell or a password owns nothing but the instance folder.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin taskboard \
    && mkdir -p /app/instance/outbox /app/instance/attachments \
    && chown -R taskboard:taskboard /app/instance
USER taskboard

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# $PORT is read when the container starts; exec makes waitress PID 1, so it gets the signals.
CMD ["sh", "-c", "exec waitress-serve --listen \"0.0.0.0:${PORT}\" --max-request-body-size=$(( ${ATTACHMENT_MAX_BYTES:-26214400} * 2 + 1048576 )) wsgi:app"]
