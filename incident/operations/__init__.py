"""Every query and write of the core, called by the API, the pages and the CLI."""
