"""Modules of one's own, as a user writes them: each registers what it defines when it is imported (a config's
top-level ``imports``), nothing when ``jaxirl`` is. They are examples, not part of the library's API."""
