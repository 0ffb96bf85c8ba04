"""The use cases: every rule of the domain lives here, called by the API, the pages, the CLI and the jobs."""
