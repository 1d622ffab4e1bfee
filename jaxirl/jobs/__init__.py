"""Command-line jobs: each module has ``main(config_path, overrides) -> dict`` used by ``jaxirl.cli``."""
