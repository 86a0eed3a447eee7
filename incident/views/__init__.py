"""HTML pages of the core."""
