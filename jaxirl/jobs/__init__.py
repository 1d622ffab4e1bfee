"""Command-line jobs: each module has ``main(config_path, overrides) -> dict`` used by ``jaxirl.cli``."""

from __future__ import annotations

import contextlib
import functools
import sys
from typing import Sequence

import numpy as np


@contextlib.contextmanager
def interruptible(run_dir: str):
    """Within it, any exception — Ctrl-C's ``KeyboardInterrupt`` (SIGTERM too under the ``jaxirl`` command)
    included — leaves carrying ``run_dir`` as an attribute, for the ``jaxirl`` command's message of where the run
    can be resumed from; the exception and its traceback are otherwise unchanged."""
    try:
        yield
    except BaseException as err:
        if getattr(err, "run_dir", None) is None:
            try:
                err.run_dir = run_dir
            except Exception:  # noqa: BLE001 - an exception type that takes no attribute: raised as it is
                pass
        raise


class Diverged(RuntimeError):
    """A run whose training state stopped being finite (NaN / inf parameters); the ``jaxirl`` command exits with
    status 3. The run folder keeps the outputs of the last finite chunk."""


def _finite_per_lane(trees, lanes: int):
    """``(len(trees), lanes)`` bools: per tree and lane, whether all its float values are finite (one program)."""
    import jax
    import jax.numpy as jnp

    rows = []
    for tree in trees:
        ok = jnp.ones((lanes,), bool)
        for x in jax.tree.leaves(tree):
            if jnp.issubdtype(x.dtype, jnp.inexact):
                ok = ok & jnp.all(jnp.isfinite(jnp.reshape(x, (lanes, -1))), axis=1)
        rows.append(ok)
    return jnp.stack(rows)


@functools.cache
def _finite_program():
    import jax  # here, not at the top: importing jaxirl.jobs (the CLI's --help) must not import JAX

    return jax.jit(_finite_per_lane, static_argnums=1)


def _finite(trees, lanes: int) -> np.ndarray:
    return np.asarray(_finite_program()(tuple(trees), lanes))


def finite_lanes(tree, lanes: int = 1) -> np.ndarray:
    """Per lane (the leading axis of every leaf when ``lanes > 1``; the whole tree when 1), whether all float
    values of ``tree`` are finite: a bool array of shape ``(lanes,)`` (one jitted reduction, one transfer)."""
    return _finite([tree], lanes)[0]


def nonfinite_parts(state, names: Sequence[str]) -> list[str]:
    """The fields among ``names`` of ``state`` (a pytree dataclass) holding a NaN or an infinity in a float leaf."""
    ok = _finite([getattr(state, name) for name in names], 1)[:, 0]
    return [name for name, fine in zip(names, ok) if not fine]


def first_nonfinite(metrics: dict, first_iteration: int, skip: Sequence[str] = ()) -> tuple[str, int] | None:
    """``(key, iteration)`` of the earliest non-finite value among a chunk's per-iteration ``metrics`` (host arrays
    of length n, the first at ``first_iteration``), keys in ``skip`` left out; ``None`` when all are finite."""
    found = None
    for key in sorted(metrics):
        if key in skip:
            continue
        values = np.asarray(metrics[key], dtype=np.float64).reshape(len(np.asarray(metrics[key])), -1)
        rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
        if rows.size and (found is None or rows[0] < found[1]):
            found = (key, int(rows[0]))
    return None if found is None else (found[0], first_iteration + found[1])


def chunk_lengths(start: int, total: int, chunk: int, aligned: bool = False) -> list[int]:
    """The lengths of the jitted chunks that take a run from iteration ``start`` to ``total``: ``chunk`` each, the
    last one shorter if need be; ``aligned``: chunks end on multiples of ``chunk`` (the expert job's)."""
    lengths, i = [], start
    while i < total:
        n = min(chunk - i % chunk if aligned else chunk, total - i)
        lengths.append(n)
        i += n
    return lengths


def note_extra_compiles(job: str, lengths: Sequence[int], key: str, total_key: str) -> None:
    """One line on stderr when the chunks are not all of one length: each other length compiles the whole training
    program again (the chunk length is static), which on a Brax env costs about as long as the first compile."""
    distinct = sorted(set(lengths), reverse=True)
    if len(distinct) > 1:
        print(f"jaxirl {job}: note: this run's chunks have {len(distinct)} lengths ({', '.join(map(str, distinct))} "
              f"iterations) and each length compiles the training program once (a {key} that divides {total_key} "
              f"avoids it)", file=sys.stderr)
