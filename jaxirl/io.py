"""Run folders, metrics logs, learning-curve plots, pytree files and exact-resume checkpoints.

A run folder (``make_run_dir``) holds::

    config.yaml                 the fully merged configuration (``write_config``)
    metrics.jsonl               one JSON object per logged iteration (``MetricsWriter``)
    learning_curve.png          (``plot_learning_curve``)
    *.msgpack                   pytrees: policy / reward parameters (``save_pytree``)
    checkpoints/checkpoint-<iteration>.msgpack + .json     (``save_checkpoint``)
    summary.json

Pytrees are stored with ``flax.serialization`` (msgpack of the state dict).  The bytes of every array are
kept exactly (dtype and value), so restoring a checkpoint into a template of the same structure gives a
bit-identical train state: a resumed run replays exactly what the uninterrupted run would have done,
provided the training step is deterministic given the state (all randomness comes from the state's key).
New-style typed PRNG keys are stored as their raw key data and re-wrapped on load.
"""

from __future__ import annotations

import datetime
import json
import math
import numbers
import os
import re
import sys
from typing import Any, Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from jaxirl.config import dump_yaml, load_yaml_file, merge

__all__ = [
    "make_run_dir", "write_config", "read_config", "write_json", "read_json", "MetricsWriter",
    "read_metrics", "plot_learning_curve", "save_pytree", "load_pytree", "save_checkpoint",
    "load_checkpoint", "latest_checkpoint", "prune_checkpoints", "check_resume", "to_python", "StructureMismatch",
    "atomic_write",
]


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through ``path.tmp-PID`` and a rename: a reader sees the old file or the new one,
    never half of one, and an interrupt leaves no temporary behind."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # an interrupt (Ctrl-C) mid-write leaves no stray temporary file
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def check_prefix(field: str, prefix, nullable: bool = False):
    """A run folder's name prefix: a non-empty name without a path separator (``None`` too where ``nullable``)."""
    if prefix is None and nullable:
        return prefix
    if not isinstance(prefix, str) or not prefix or "/" in prefix or os.sep in prefix or prefix in (".", ".."):
        raise ValueError(f"{field}: expected a non-empty name without '/'{' or null' if nullable else ''}, "
                         f"got {prefix!r}")
    if len(prefix.encode()) > 200:  # the folder name adds "-YYYYmmdd-HHMMSS[-n]"; file systems allow 255 bytes
        raise ValueError(f"{field}: expected a name of at most 200 bytes (the run folder's name adds a time stamp), "
                         f"got {len(prefix.encode())}")
    return prefix


def make_run_dir(root: str | os.PathLike, prefix: str) -> str:
    """Create and return a new folder ``root/prefix-YYYYmmdd-HHMMSS`` (``-2``, ``-3``... if taken)."""
    check_prefix("run.prefix", prefix)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(os.fspath(root), f"{prefix}-{stamp}")
    path, n = base, 1
    while True:
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            n += 1
            path = f"{base}-{n}"
        except OSError as err:  # e.g. a root under a read-only or virtual file system: name the field
            raise ValueError(f"run.root: cannot make the run folder {path!r} ({err.strerror or err})") from None


def to_python(value: Any) -> Any:
    """Convert numpy / jax scalars and arrays inside nested containers to JSON-friendly Python values."""
    if isinstance(value, Mapping):
        return {str(k): to_python(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_python(v) for v in value]
    if isinstance(value, (jax.Array, np.ndarray, np.generic)):
        arr = np.asarray(value)
        value = arr.item() if arr.ndim == 0 else arr.tolist()
        return to_python(value) if isinstance(value, list) else _finite(value)
    return _finite(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else (1e308 if value > 0 else -1e308)
    return value


def write_json(path: str, obj: Any) -> None:
    atomic_write(path, (json.dumps(to_python(obj), indent=2) + "\n").encode())


def read_json(path: str) -> Any:
    """A JSON file's value; ``ValueError`` naming the file where it is not valid JSON."""
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path!r} is not valid JSON ({err})") from None


def write_config(run_dir: str, config: Mapping) -> str:
    """Write the merged config to ``run_dir/config.yaml`` and return its path. Its ``resume`` is written as null:
    the file reproduces the run from the start (``jaxirl train RUN_DIR/config.yaml``), and a resumed run's file
    would otherwise resume the finished run in place."""
    path = os.path.join(run_dir, "config.yaml")
    if "resume" in config:
        config = {**config, "resume": None}
    atomic_write(path, dump_yaml(config).encode())
    return path


def read_config(run_dir: str) -> dict:
    path = os.path.join(run_dir, "config.yaml")
    if not os.path.isfile(path):
        raise ValueError(f"{run_dir!r} is not a run folder (no config.yaml)")
    loaded = load_yaml_file(path, repr(path)) or {}
    if not isinstance(loaded, Mapping):
        raise ValueError(f"{path!r} must hold a mapping of config sections, got {type(loaded).__name__}")
    return loaded


class MetricsWriter:
    """Append-only JSON-lines log: ``write({"iteration": 3, "loss": 0.1})`` adds one line (flushed)."""

    def __init__(self, path: str, truncate_after: int | None = None):
        """Open ``path`` for appending; when resuming, ``truncate_after=i`` first drops records with
        ``iteration > i`` (written after the checkpoint being resumed from)."""
        self.path = path
        if truncate_after is not None and os.path.exists(path):
            kept = [r for r in read_metrics(path) if r.get("iteration", -1) <= truncate_after]
            atomic_write(path, "".join(json.dumps(r) + "\n" for r in kept).encode())
        self._file = open(path, "a", encoding="utf-8")

    def write(self, record: Mapping) -> None:
        self._file.write(json.dumps(to_python(record)) + "\n")
        self._file.flush()

    def write_many(self, records: Iterable[Mapping]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_metrics(path: str) -> list[dict]:
    """All records of a metrics.jsonl file (an incomplete last line, e.g. after a crash, is skipped)."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def plot_learning_curve(records: Sequence[Mapping], path: str, keys: Sequence[str], x: str = "iteration",
                        title: str = "") -> str | None:
    """Plot ``keys`` against ``x`` (one panel per key present) into a PNG; returns the path or None.

    Uses matplotlib's Agg canvas directly, so no display and no global backend switch are needed. Only finite values
    are drawn: a diverged metric (NaN, null in the JSON; an infinity, written as ±1e308) is left out of its panel —
    matplotlib cannot scale an axis to 1e308 — and a panel with no finite value says so. A figure that still cannot
    be drawn is not an error of the run: a note on stderr, and None.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def finite(v) -> bool:  # a number (numpy's too), finite, and not the ±1e308 that stands for an infinity
        return (isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(float(v))
                and abs(float(v)) < 1e300)

    keys = [k for k in keys if any(r.get(k) is not None for r in records)]
    if not keys:
        return None
    try:
        fig = Figure(figsize=(5.0 * len(keys), 3.6))
        FigureCanvasAgg(fig)
        for i, key in enumerate(keys):
            ax = fig.add_subplot(1, len(keys), i + 1)
            pts = [(r[x], r[key]) for r in records if x in r and finite(r.get(key))]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="." if len(pts) < 50 else None)
            if not pts:
                ax.text(0.5, 0.5, "no finite value", ha="center", va="center", transform=ax.transAxes)
            ax.set_xlabel(x)
            ax.set_title(key)
            ax.grid(alpha=0.3)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    except (ValueError, OverflowError, FloatingPointError) as err:  # matplotlib's scaling of extreme values
        print(f"jaxirl: note: the learning curve {path} was not drawn ({type(err).__name__}: {err})", file=sys.stderr)
        return None
    return path


# ----------------------------------------------------------------------------------------------- pytrees

def _is_typed_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _unwrap_keys(tree: Any) -> Any:
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_typed_key(x) else x, tree)


def save_pytree(path: str, tree: Any) -> str:
    """Write a pytree (params, optimizer state, flax struct train state...) as msgpack bytes."""
    tree = jax.device_get(_unwrap_keys(tree))
    atomic_write(path, serialization.to_bytes(tree))
    return path


class StructureMismatch(ValueError):
    """A saved pytree whose structure or array shapes differ from the template it is restored into (e.g. a
    checkpoint written by another version of jaxirl)."""


def load_pytree(path: str, target: Any = None) -> Any:
    """Read a pytree written by :func:`save_pytree`.

    With ``target`` (a pytree of the same structure, e.g. a freshly initialised state) the result has
    the target's structure (flax structs, optax states, static fields) and dtypes, as jax arrays.
    Without it the result is the raw nested dict of numpy arrays (enough for flax ``params``).
    """
    if not os.path.isfile(path):
        raise ValueError(f"pytree file not found: {path!r}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        raw = serialization.msgpack_restore(data)
    except Exception as err:  # a truncated or corrupt file, not a structure from another version
        raise ValueError(f"{path!r} cannot be read: truncated or corrupt ({type(err).__name__}: {err})") from None
    if not isinstance(raw, dict):  # bytes that decode as one msgpack value (a 1-byte file): no saved pytree
        raise ValueError(f"{path!r} cannot be read: truncated or corrupt (it holds a {type(raw).__name__}, not a "
                         "saved pytree)")
    if target is None:
        return raw
    template = _unwrap_keys(target)
    raw = _with_absent_fields(serialization.to_state_dict(template), raw)
    try:
        restored = serialization.from_state_dict(template, raw)
    except (ValueError, KeyError, TypeError) as err:
        raise StructureMismatch(f"{path!r} does not match the expected structure: {err}") from None

    def back(t, r):
        if _is_typed_key(t):
            return jax.random.wrap_key_data(jnp.asarray(r), impl=jax.random.key_impl(t))
        r = jnp.asarray(r)
        if hasattr(t, "shape") and tuple(r.shape) != tuple(np.shape(t)):
            raise StructureMismatch(f"{path!r}: array of shape {r.shape} where {np.shape(t)} was expected")
        want = getattr(t, "dtype", None)
        if want is not None:
            want = jax.dtypes.canonicalize_dtype(want)  # int64/float64 templates are 32-bit outside x64
        if want is not None and r.dtype != want:
            # a width may differ (a file from a jax_enable_x64 session): cast within a kind; across is a mismatch
            for kind in (jnp.floating, jnp.signedinteger, jnp.unsignedinteger):
                if jnp.issubdtype(r.dtype, kind) and jnp.issubdtype(want, kind):
                    return r.astype(want)
            raise StructureMismatch(f"{path!r}: array of dtype {r.dtype} where {want} was expected")
        return r

    return jax.tree.map(back, target, restored)


def _with_absent_fields(want, raw):
    """``raw`` with the fields a newer version added as optional (``None`` in the template's state dict: e.g.
    ``EnvState.pool`` without a reset pool) filled in where a file written before them lacks them."""
    if not isinstance(want, dict) or not isinstance(raw, dict):
        return raw
    out = dict(raw)
    for k, v in want.items():
        if k not in out:
            if v is None:
                out[k] = None
        else:
            out[k] = _with_absent_fields(v, out[k])
    return out


_CKPT = re.compile(r"^checkpoint-(\d+)\.msgpack$")


def save_checkpoint(run_dir: str, iteration: int, state: Any, info: Mapping | None = None) -> str:
    """Save ``state`` as ``run_dir/checkpoints/checkpoint-<iteration>.msgpack`` plus a JSON with the
    iteration, the state's PRNG key (if it has a ``key`` field; informative) and ``info``.
    The JSON is written last, so a checkpoint counts as complete only when its JSON exists."""
    folder = os.path.join(run_dir, "checkpoints")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"checkpoint-{int(iteration)}.msgpack")
    save_pytree(path, state)
    meta = {"iteration": int(iteration), "file": os.path.basename(path)}
    key = getattr(state, "key", None)
    if key is not None:
        meta["rng"] = np.asarray(jax.device_get(_unwrap_keys(key))).tolist()
    meta.update(info or {})
    write_json(path[: -len(".msgpack")] + ".json", meta)
    return path


def _complete_checkpoints(run_dir: str) -> list[tuple[int, str]]:
    """``(iteration, path)`` of every complete checkpoint (its ``.json`` written last exists) of ``run_dir``, oldest
    first."""
    folder = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(folder):
        return []
    return sorted((int(m.group(1)), os.path.join(folder, name)) for name in os.listdir(folder)
                  if (m := _CKPT.match(name)) and os.path.isfile(os.path.join(folder, name[: -len(".msgpack")] + ".json")))


def latest_checkpoint(run_dir: str) -> tuple[int, str] | None:
    """(iteration, path) of the newest complete checkpoint in ``run_dir``, or None."""
    found = _complete_checkpoints(run_dir)
    return found[-1] if found else None


def load_checkpoint(path: str, target: Any) -> tuple[Any, dict]:
    """Restore a checkpoint (``.msgpack`` path, or a run folder: its latest checkpoint) into the
    structure of ``target``; returns ``(state, info)`` with the JSON metadata."""
    older = None
    if os.path.isdir(path):
        found = _complete_checkpoints(path)
        if not found:
            raise ValueError(f"no checkpoint found in {path!r}/checkpoints")
        older = found[-2] if len(found) > 1 else None  # named if the newest cannot be read
        path = found[-1][1]
    info_path = path[: -len(".msgpack")] + ".json" if path.endswith(".msgpack") else path + ".json"
    try:
        info = {}
        if os.path.isfile(info_path):
            info = read_json(info_path)
            if not isinstance(info, dict) or isinstance(info.get("iteration"), bool) or not isinstance(
                    info.get("iteration"), int):
                raise ValueError(f"checkpoint {info_path!r}: expected a JSON object with an int 'iteration'")
        return load_pytree(path, target), info
    except StructureMismatch:
        raise
    except ValueError as err:  # unreadable: name the older complete checkpoint (not taken silently: work would be lost)
        if older is None:
            raise
        raise ValueError(f"{err}; the older checkpoint {os.path.basename(older[1])} (iteration {older[0]}) is "
                         f"complete: move {os.path.basename(path)} and {os.path.basename(info_path)} out of "
                         f"{os.path.dirname(path)} to continue from it") from None


_TMP = re.compile(r"\.tmp-(\d+)$")


def remove_stale_temporaries(folder: str) -> None:
    """Delete the ``*.tmp-PID`` files of :func:`atomic_write` in ``folder`` whose process is gone (a hard kill
    mid-write leaves one: ~10 MB for a Brax checkpoint); another live process's are left alone."""
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        m = _TMP.search(name)
        if m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)  # raises if no such process
            continue
        except ProcessLookupError:
            pass
        except (OverflowError, OSError):  # alive under another user (PermissionError), or not a PID at all
            continue
        try:
            os.remove(os.path.join(folder, name))
        except OSError:
            pass


def prune_checkpoints(run_dir: str, keep: int) -> None:
    """Delete all but the ``keep`` newest complete checkpoints of ``run_dir`` (``keep`` <= 0: keep them all).

    Complete: its ``.json`` exists (written last, as :func:`latest_checkpoint` requires). An unfinished one (an
    interrupt between the two writes) never counts towards ``keep``; it is deleted once older than the newest
    complete one, and a newer one is left alone (a resume that lowered ``num_iterations`` cannot push the only
    complete checkpoint out)."""
    folder = os.path.join(run_dir, "checkpoints")
    remove_stale_temporaries(run_dir)
    remove_stale_temporaries(folder)
    if keep <= 0 or not os.path.isdir(folder):
        return
    found = sorted((int(m.group(1)), name) for name in os.listdir(folder) if (m := _CKPT.match(name)))
    complete = [(i, name) for i, name in found
                if os.path.isfile(os.path.join(folder, name[: -len(".msgpack")] + ".json"))]
    if not complete:
        return
    kept = {name for _, name in complete[-keep:]}
    newest = complete[-1][0]
    for i, name in found:
        if name in kept or i > newest:
            continue
        for path in (os.path.join(folder, name), os.path.join(folder, name[: -len(".msgpack")] + ".json")):
            if os.path.exists(path):
                os.remove(path)


def _config_diff(a: Any, b: Any, allowed: set, path: tuple = ()) -> list[tuple]:
    if any(path[: len(p)] == p for p in allowed):
        return []
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _config_diff(a.get(k), b.get(k), allowed, path + (k,))
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        a, b = list(a), list(b)
    return [] if a == b else [(path, a, b)]


def check_resume(run_dir: Any, cfg: Mapping, defaults: Mapping, allowed: set) -> None:
    """Refuse (``ValueError`` naming the ``resume`` field) to continue ``run_dir`` with ``cfg`` unless it is a
    run folder with a complete checkpoint whose saved ``config.yaml`` (merged into ``defaults``) equals ``cfg``
    except under the key paths in ``allowed`` (tuples; a prefix allows a whole section)."""
    if not isinstance(run_dir, str):
        raise ValueError(f"resume: expected a run folder, got {run_dir!r}")
    if not os.path.isdir(run_dir):
        raise ValueError(f"resume: run folder not found: {run_dir!r}")
    if not os.path.isfile(os.path.join(run_dir, "config.yaml")):
        raise ValueError(f"resume: {run_dir!r} is not a run folder (no config.yaml)")
    try:
        saved = merge(defaults, read_config(run_dir))
    except ValueError as err:  # e.g. a `jaxirl train` folder given to `jaxirl expert`
        raise ValueError(f"resume: {run_dir!r} is not a run of this job (its config.yaml does not fit: {err})") from None
    diffs = _config_diff(saved, cfg, set(allowed))
    if diffs:
        lines = "; ".join(f"{'.'.join(p)}: saved {a!r}, now {b!r}" for p, a, b in diffs[:8])
        free = ", ".join(".".join(p) for p in sorted(allowed) if p != ("resume",))
        raise ValueError(f"resume: the configuration differs from {run_dir}/config.yaml ({lines}); "
                         f"pass that file as CONFIG (only {free} may change)")
    if latest_checkpoint(run_dir) is None:
        raise ValueError(f"resume: {run_dir!r} has no complete checkpoint")
