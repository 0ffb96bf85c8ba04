"""The entry point: `waitress-serve wsgi:app`, `flask --app wsgi …`, `huey_consumer wsgi.huey`."""

import gc
import os
import sys

from taskboard import create_app
from taskboard.backup import InstanceBusy, hold_instance_lock
from taskboard.config import ConfigError
from taskboard.queue import huey

try:
    app = create_app()
    # The web server (and huey_consumer) hold the instance's lock while they run, so that
    # `flask restore` refuses to replace their data. `flask` commands import this module
    # too (Flask marks its command line with FLASK_RUN_FROM_CLI); of them, `flask worker`
    # takes the lock itself.
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        hold_instance_lock(app.instance_path)
except (ConfigError, InstanceBusy) as exc:
    # One readable line for the operator instead of a traceback from waitress or flask.
    sys.exit(f"Taskboard cannot start: {exc}")

# What starting made (modules, the app, SQLAlchemy's mappers) lives as long as the process.
# Left to the collector, every full collection walked it all: ~150,000 objects, tens of
# milliseconds with every request thread stopped, which set the API's p99 latency. Frozen,
# collections see only what requests make; and they run less often, as most of that is
# freed by reference counting anyway.
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 50, 100)

__all__ = ["app", "huey"]
