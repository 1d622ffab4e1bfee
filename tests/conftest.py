"""Test-wide JAX set-up: persistent compilation cache so identical programs compile once per run, and cheaper
compilation. The README's command runs the suite in two pytest-xdist workers (``-n 2 --dist loadfile``: a test file's
tests stay together, in order, in one process).

The suite is compile-bound on the 2-core CI machine (tiny envs, hundreds of distinct programs). Unless
``XLA_FLAGS`` is already set, the tests ask XLA for its cheapest code generation (``--xla_backend_optimization_level=0``,
no expensive LLVM passes): on the 2-core CPU a clean clone's suite ran in 625 s with these flags against 795 s
without (2026-11-28, cold caches), every test passing either way — the flags change how fast the compiled programs run, not
what they compute within the tests' tolerances (the bit-exact resume and vmap-equals-loop tests compare programs
compiled the same way). ``JAXIRL_TEST_XLA_FLAGS=`` (empty) runs the suite with XLA's defaults.
"""

import os

os.environ.setdefault("XLA_FLAGS", os.environ.get(
    "JAXIRL_TEST_XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"))

import jax  # noqa: E402  (after XLA_FLAGS: the backend reads them when it starts)

_CACHE = os.environ.get("JAXIRL_TEST_CACHE", os.path.join(os.path.dirname(__file__), "..", ".jax_cache"))
# one folder per pytest-xdist worker: JAX writes a cache entry without a lock (with eviction off), so a worker could
# read another's half-written entry (a warning and a recompilation, not a wrong result)
_CACHE = os.path.join(_CACHE, os.environ.get("PYTEST_XDIST_WORKER", "main"))
jax.config.update("jax_compilation_cache_dir", os.path.abspath(_CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

import gc  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop every compiled program after each test module. Each XLA:CPU executable holds memory mappings of its
    own, and one process running the whole suite reached ~50 000 of Linux's default 65 530 (`vm.max_map_count`) by
    88 % of the tests on 2026-11-29; past the limit, XLA's next compile segfaulted (a clean clone's `.ci/run`
    crashed in `test_update_rules.py`). Programs a later module needs again come back from the persistent cache."""
    yield
    jax.clear_caches()
    gc.collect()


@pytest.fixture
def objective_registry():
    """``jaxirl.objectives.OBJECTIVES``, with whatever a test registers in it gone after the test (the registry is one
    dict for the process)."""
    from jaxirl import objectives

    yield from _restoring(objectives.OBJECTIVES, objectives._ORIGINS)


@pytest.fixture
def env_registry():
    """The environments registered with ``jaxirl.envs.register_env``, with whatever a test registers gone after it."""
    from jaxirl.envs import registry

    yield from _restoring(registry._REGISTERED, registry._ORIGINS)


@pytest.fixture
def reward_kind_registry():
    """The reward kinds registered with ``jaxirl.reward.register_reward_kind``, with whatever a test registers gone
    after it."""
    from jaxirl.reward import models

    yield from _restoring(models._REGISTERED_KINDS, models._KIND_ORIGINS)


def _restoring(registry: dict, origins: dict):
    """Yield ``registry``; afterwards put it and its record of who registered what back as they were."""
    saved = [(d, dict(d)) for d in (registry, origins)]
    yield registry
    for d, before in saved:
        d.clear()
        d.update(before)
