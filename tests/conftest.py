"""Test-wide JAX set-up: persistent compilation cache so identical programs compile once per run."""

import os

import jax

_CACHE = os.environ.get("JAXIRL_TEST_CACHE", os.path.join(os.path.dirname(__file__), "..", ".jax_cache"))
jax.config.update("jax_compilation_cache_dir", os.path.abspath(_CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
