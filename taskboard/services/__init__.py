"""The use cases: every rule lives here, for the API, the pages, the CLI and the jobs."""
