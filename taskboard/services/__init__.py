"""The use cases: every rule lives here, for the API, the pages, the CLI and the jobs."""

# Every kind of mail is registered by the module that raises it; importing them with the
# package makes every kind known wherever the outbox is delivered, whatever else ran.
from . import account_links, invitations, projects, tasks  # noqa: F401
