"""Demonstration datasets: collection, the ``.npz`` file format, and validated loading.

File schema (``numpy.savez_compressed``; ``M`` transitions from ``E`` complete episodes, stored episode
after episode)::

    observations       (M, obs_dim) float32
    actions            (M, act_dim) float32   continuous actions, or
                       (M,)         int32     discrete action indices
                                              (absent in an observation-only set: metadata has_actions false)
    next_observations  (M, obs_dim) float32   the TRUE next observation (also at episode ends)
    rewards            (M,)         float32   true environment reward (absent where metadata has_rewards false)
    terminated         (M,)         float32   1.0 where the MDP ended (absorbing), else 0.0
    truncated          (M,)         float32   1.0 where the time limit cut the episode, else 0.0
    episode_returns    (E,)         float32   undiscounted return of each episode (absent with the rewards)
    episode_starts     (E,)         int64     index of each episode's first transition
    episode_lengths    (E,)         int64     number of transitions of each episode
    metadata           ()           str       JSON object, see below

``metadata`` keys: ``env`` (registry name), ``backend`` (Brax backend or null), ``episode_length`` (time
limit), ``observation_size``, ``action_size``, ``discrete``, ``num_actions``, ``num_episodes``,
``num_transitions``, ``expert_return`` (mean of ``episode_returns``; in a set without rewards, as recorded, or
null), ``has_actions``, ``has_rewards``,
``jaxirl_version``, ``created`` (ISO-8601 UTC), plus anything the writer adds (e.g. the expert run folder; ``jaxirl expert`` records the
``imports`` — modules that register an env of one's own — that ``jaxirl demos FILE check_env=true`` then imports).

**Observation-only sets** (learning from observation: GAIfO, Torabi et al. 2018) have no ``actions`` array and
record ``has_actions: false``; ``action_size`` and ``discrete`` still describe the environment's actions. They load
as a ``Transition`` whose ``action`` is ``None`` and train only what never reads the expert's actions (GAIL's
discriminator of ``s`` or ``(s, s')``; :func:`jaxirl.train.make_train` refuses the rest by name). Write one with
:func:`save_demos` from a ``Transition`` with ``action=None``, or from a full set through :func:`without_actions`.
A set may also lack rewards (``has_rewards: false``: no ``rewards`` or ``episode_returns``; ``reward=None`` in the
``Transition``), as state logs from another source do: nothing trains on them, but the normalised score needs the
expert's return, which the metadata's ``expert_return`` (or ``demos.expert_return`` / ``make_train``'s
``expert_return``) must then give.

Every episode is complete: its last transition has ``terminated`` or ``truncated`` set and no other one
does.  :func:`load_demos` checks all of this (and, given a target environment, that the data were made
for it) and raises ``ValueError`` naming the offending array or field.
"""

from __future__ import annotations

import datetime
import io as io_lib
import json
import os
import zipfile
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxirl import __version__
from jaxirl.config import finite_number
from jaxirl.envs.base import Transition
from jaxirl.io import to_python

__all__ = ["save_demos", "load_demos", "collect_demos", "env_metadata", "terminations_as_truncations", "first_episodes",
           "without_actions", "ARRAYS",
           "TERMINATIONS", "EXPERT_EVAL_KEYS", "expert_policy_score", "expert_eval_return"]

# file array name -> Transition field
ARRAYS = {
    "observations": "obs",
    "actions": "action",
    "rewards": "reward",
    "next_observations": "next_obs",
    "terminated": "terminated",
    "truncated": "truncated",
}
_EPISODE_ARRAYS = ("episode_returns", "episode_starts", "episode_lengths")
# what to do with the demonstrations' terminations (see terminations_as_truncations)
TERMINATIONS = ("keep", "truncate")
# metadata keys under which `jaxirl expert` records the demonstrating policy's own deterministic evaluation
# (the first GPU files: expert_eval_deterministic_128)
EXPERT_EVAL_KEYS = ("eval_return_deterministic", "expert_eval_deterministic_128")
# the returns metadata may record: each a finite number or null
RETURN_KEYS = ("expert_return", "random_return", *EXPERT_EVAL_KEYS, "eval_return_stochastic")


def _episode_bounds(terminated: np.ndarray, truncated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ends = np.flatnonzero((terminated > 0) | (truncated > 0))
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    return starts, (ends + 1 - starts).astype(np.int64)


def save_demos(path: str, transitions: Transition, episode_returns, metadata: Mapping[str, Any]) -> str:
    """Write demonstrations (a ``Transition`` with leading ``(M,)`` axis of complete episodes, stored
    one after the other) and their per-episode returns to a compressed ``.npz`` (schema above).

    ``metadata`` must contain ``env`` (the environment's name) and ``episode_length`` (its time limit); sizes,
    counts, ``expert_return`` (mean episode return), the version and the date are filled in when absent.
    With ``transitions.action`` ``None`` the file is an observation-only set (``has_actions: false``): ``metadata``
    must then also give ``action_size`` and ``discrete`` (e.g. from :func:`env_metadata`), which no array shows.
    ``has_actions`` is always the transitions' own (a value in ``metadata``, e.g. a loaded file's, is replaced).
    With ``transitions.reward`` ``None`` (``has_rewards: false``) ``episode_returns`` must be ``None`` and
    ``expert_return`` is whatever ``metadata`` gives (a loaded file's keeps its normaliser), else null.
    """
    if not isinstance(transitions, Transition):
        raise ValueError(f"transitions: expected a jaxirl.envs.Transition, got {type(transitions).__name__}")
    has_actions = transitions.action is not None
    has_rewards = transitions.reward is not None
    arrays = {name: np.asarray(jax.device_get(getattr(transitions, field))) for name, field in ARRAYS.items()
              if getattr(transitions, field) is not None}
    for name in ("observations", "next_observations", "rewards", "terminated", "truncated"):
        if name in arrays:
            arrays[name] = arrays[name].astype(np.float32)
    if has_actions:
        act = arrays["actions"]
        arrays["actions"] = act.astype(np.int32) if np.issubdtype(act.dtype, np.integer) else act.astype(np.float32)
    else:
        for key in ("action_size", "discrete"):
            if metadata.get(key) is None:
                raise ValueError(f"metadata: missing '{key}' (without actions no array shows it: give the "
                                 "environment's, e.g. jaxirl.data.env_metadata(env))")
    if not has_rewards and episode_returns is not None:
        raise ValueError("episode_returns: the transitions have no rewards (reward=None), so no returns; pass None")
    if has_rewards and episode_returns is None:
        raise ValueError("episode_returns: the transitions have rewards, so give their per-episode returns (None only "
                         "with reward=None)")
    returns = np.asarray(jax.device_get(episode_returns), dtype=np.float32).reshape(-1) if has_rewards else None
    starts, lengths = _episode_bounds(arrays["terminated"], arrays["truncated"])
    for key in RETURN_KEYS:  # checked before to_python, which would turn inf to 1e308 and NaN to null
        v = metadata.get(key)
        if v is not None and not (np.shape(v) == () and finite_number(np.asarray(jax.device_get(v)).item())):
            raise ValueError(f"metadata {key}: expected a finite number or None, got {v!r}")
    # JSON-friendly (numpy scalars from an env or load_demos), without load_demos' own episode arrays
    meta = to_python({k: v for k, v in metadata.items() if k not in _EPISODE_ARRAYS})
    if "env" not in meta:
        raise ValueError("metadata: missing 'env' (the environment name the demonstrations come from)")
    meta.setdefault("backend", None)
    meta.setdefault("observation_size", int(arrays["observations"].shape[-1]))
    if has_actions:
        discrete = arrays["actions"].ndim == 1
        meta.setdefault("action_size", 1 if discrete else int(arrays["actions"].shape[-1]))
        meta.setdefault("discrete", bool(discrete))
    meta.update(has_actions=has_actions, has_rewards=has_rewards)
    meta.setdefault("num_actions", None)
    meta.update(num_episodes=int(returns.shape[0] if has_rewards else starts.shape[0]),
                num_transitions=int(arrays["observations"].shape[0]))
    meta.setdefault("expert_return", float(returns.mean()) if has_rewards and returns.size else None)
    meta.setdefault("jaxirl_version", __version__)
    meta.setdefault("created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    if "episode_length" not in meta:
        raise ValueError("metadata: missing 'episode_length' (the time limit of the source environment)")
    arrays.update(episode_starts=starts, episode_lengths=lengths)
    if has_rewards:
        arrays["episode_returns"] = returns
    _check_arrays(arrays, meta, path)  # never write a file that load_demos would reject
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    buffer = io_lib.BytesIO()  # compressed in memory (a few MB), then written as a checkpoint is: atomically
    np.savez_compressed(buffer, metadata=np.array(json.dumps(meta)), **arrays)
    from jaxirl.io import atomic_write

    atomic_write(path, buffer.getvalue())
    return path


def _fail(path: str, message: str):
    raise ValueError(f"demonstrations {path!r}: {message}")


def float32_nonfinite(a) -> int:
    """How many values of ``a`` are NaN or infinite once cast to float32, as jaxirl keeps them (a float64 1e39 is
    inf then); 0 for integer and bool arrays."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        return 0
    with np.errstate(over="ignore"):
        return int(np.size(a) - np.count_nonzero(np.isfinite(a.astype(np.float32))))


def flag_problem(terminated, truncated) -> str | None:
    """What is wrong with a demonstration set's episode-end flags, or ``None``: each must hold only 0 and 1 (or
    booleans), and no transition may have both set."""
    flags = {"terminated": np.asarray(terminated, np.float32), "truncated": np.asarray(truncated, np.float32)}
    for name, f in flags.items():
        bad = np.unique(f[(f != 0) & (f != 1)])
        if bad.size:
            return f"'{name}' must contain only 0 and 1, got values {bad[:5].tolist()}"
    if np.any((flags["terminated"] > 0) & (flags["truncated"] > 0)):
        return ("a transition has both 'terminated' and 'truncated' set (an episode that ends in its MDP on its "
                "last allowed step is terminated only)")
    return None


def index_problem(actions, num_actions) -> str | None:
    """What is wrong with discrete actions as indices of ``num_actions`` actions (``None``: only the lower bound 0),
    or ``None`` when all lie in ``[0, num_actions)``."""
    a = np.asarray(actions)
    if a.size and (a.min() < 0 or (num_actions is not None and a.max() >= num_actions)):
        return (f"indices must lie in [0, {num_actions if num_actions is not None else 'num_actions'}), got values "
                f"from {int(a.min())} to {int(a.max())}")
    return None


def _check_arrays(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], path: str) -> None:
    obs = arrays["observations"]
    if obs.ndim != 2:
        _fail(path, f"'observations' must have shape (M, obs_dim), got {obs.shape}")
    m = obs.shape[0]
    if m == 0:
        _fail(path, "no transitions (empty file)")
    for name in ("observations", "next_observations"):
        a = arrays[name]
        if not np.issubdtype(a.dtype, np.floating):
            _fail(path, f"'{name}' must be float32, got dtype {a.dtype}")
        if a.shape != obs.shape:
            _fail(path, f"'{name}' must have shape {obs.shape}, got {a.shape}")
    # Without actions or rewards: load_demos has checked has_actions' / has_rewards' types and that only a set whose
    # metadata says so lacks the arrays; save_demos writes both flags from the transitions.
    act = arrays.get("actions")
    if act is None:
        if not isinstance(meta.get("discrete"), bool):
            _fail(path, f"metadata discrete: an observation-only set must record whether the actions are discrete "
                        f"(true or false), got {meta.get('discrete')!r}")
        if meta["discrete"] and meta.get("action_size") != 1:
            _fail(path, f"metadata action_size={meta.get('action_size')!r} but discrete actions have size 1")
        if not meta["discrete"] and meta.get("num_actions") is not None:
            _fail(path, f"metadata num_actions={meta['num_actions']!r} but the actions are continuous (discrete=false)")
    elif meta.get("has_actions") is False:
        _fail(path, "metadata has_actions=false but the file has an 'actions' array")
    elif act.shape[:1] != (m,) or act.ndim not in (1, 2):
        _fail(path, f"'actions' must have shape (M, act_dim) or (M,) with M={m}, got {act.shape}")
    if act is not None and act.ndim == 1 and not np.issubdtype(act.dtype, np.integer):
        _fail(path, f"'actions' of shape (M,) are discrete indices and must be int32, got dtype {act.dtype}")
    if act is not None and act.ndim == 2 and not np.issubdtype(act.dtype, np.floating):
        _fail(path, f"'actions' of shape (M, act_dim) must be float32, got dtype {act.dtype}")
    rewarded = "rewards" in arrays
    if meta.get("has_rewards") is False and (rewarded or "episode_returns" in arrays):
        _fail(path, f"metadata has_rewards=false but the file has "
                    f"{' and '.join(repr(k) for k in ('rewards', 'episode_returns') if k in arrays)}")
    for name in ("rewards", "terminated", "truncated"):
        if name not in arrays:
            continue
        a = arrays[name]
        if a.shape != (m,):
            _fail(path, f"'{name}' must have shape ({m},), got {a.shape}")
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.bool_)):
            _fail(path, f"'{name}' must be float32, got dtype {a.dtype}")
    if rewarded and not np.issubdtype(arrays["episode_returns"].dtype, np.floating):
        _fail(path, f"'episode_returns' must be float32, got dtype {arrays['episode_returns'].dtype}")
    for name in ("observations", "next_observations", "actions", "rewards", "episode_returns"):
        if name in arrays and (bad := float32_nonfinite(arrays[name])):
            _fail(path, f"'{name}' contains {bad} NaN/inf value(s) (as float32)")
    if problem := flag_problem(arrays["terminated"], arrays["truncated"]):
        _fail(path, problem)
    _check_meta(meta, path)
    if act is None:
        pass
    elif meta.get("discrete") is not None and meta["discrete"] != (act.ndim == 1):
        _fail(path, f"metadata discrete={meta['discrete']} but the actions are "
                    f"{'integer indices (M,)' if act.ndim == 1 else 'vectors (M, act_dim)'}")
    elif act.ndim == 2 and meta.get("num_actions") is not None:
        _fail(path, f"metadata num_actions={meta['num_actions']} but the actions are continuous vectors")
    elif act.ndim == 1 and (problem := index_problem(act, meta.get("num_actions"))):
        _fail(path, f"discrete 'actions': {problem}")
    done = (arrays["terminated"] > 0) | (arrays["truncated"] > 0)
    if not done[-1]:
        _fail(path, "the last episode is incomplete (the last transition is neither terminated nor truncated)")
    starts, lengths = _episode_bounds(arrays["terminated"], arrays["truncated"])
    e = starts.shape[0]
    for name, expected in (("episode_starts", starts), ("episode_lengths", lengths)):
        a = np.asarray(arrays[name])
        if not np.issubdtype(a.dtype, np.integer):
            _fail(path, f"'{name}' must be integers, got dtype {a.dtype}")
        if a.shape != (e,) or not np.array_equal(a, expected):
            _fail(path, f"'{name}' does not match the episode ends given by terminated/truncated ({e} episodes)")
    if rewarded:
        if arrays["episode_returns"].shape != (e,):
            _fail(path, f"'episode_returns' must have shape ({e},) (one per episode), got "
                        f"{arrays['episode_returns'].shape}")
        rewards = arrays["rewards"].astype(np.float64)
        per_episode = np.add.reduceat(rewards, starts)
        recorded = arrays["episode_returns"].astype(np.float64)
        # each episode against its own scale: float32 sums of its rewards are off by ~1e-7 of sum |r| (shipped files)
        off = np.abs(per_episode - recorded) > 1e-3 * np.add.reduceat(np.abs(rewards), starts) + 1e-6
        if off.any():
            i = int(np.argmax(off))
            _fail(path, f"'episode_returns' differ from the sums of 'rewards' over the episodes (episode {i}: recorded "
                        f"{recorded[i]:.6g}, rewards sum to {per_episode[i]:.6g})")
    limit = meta.get("episode_length")
    if isinstance(limit, int) and lengths.max() > limit:
        _fail(path, f"an episode has {int(lengths.max())} steps, more than metadata episode_length={limit}")
    for key, count in (("num_episodes", e), ("num_transitions", m)):
        if meta.get(key, count) != count:
            _fail(path, f"metadata {key}={meta[key]!r} but the arrays hold {count}")
    if meta.get("observation_size") not in (None, obs.shape[1]):
        _fail(path, f"metadata observation_size={meta['observation_size']} but observations have {obs.shape[1]} columns")
    act_size = meta.get("action_size") if act is None else 1 if act.ndim == 1 else act.shape[1]
    if meta.get("action_size") not in (None, act_size):
        _fail(path, f"metadata action_size={meta['action_size']} but actions have size {act_size}")


def _check_meta(meta: Mapping[str, Any], path: str) -> None:
    """The metadata fields jaxirl reads have the types it reads them as (a ``ValueError`` naming the field)."""
    if not isinstance(meta.get("env"), str) or not meta["env"]:
        _fail(path, f"metadata env: expected an environment name, got {meta.get('env')!r}")
    for key in ("episode_length", "observation_size", "action_size"):
        v = meta.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            _fail(path, f"metadata {key}: expected a positive int, got {v!r}")
    v = meta.get("num_actions")
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
        _fail(path, f"metadata num_actions: expected a positive int or null, got {v!r}")
    for key, kind, what in (("backend", str, "a backend name"), ("discrete", bool, "true or false"),
                            ("env_kwargs", dict, "a mapping of env constructor arguments")):
        if meta.get(key) is not None and not isinstance(meta[key], kind):
            _fail(path, f"metadata {key}: expected {what} or null, got {meta[key]!r}")
    for key in RETURN_KEYS:
        if meta.get(key) is not None and not finite_number(meta[key]):
            _fail(path, f"metadata {key}: expected a finite number or null, got {meta[key]!r}")


def env_metadata(env) -> dict:
    """The metadata fields describing a ``VecEnv`` (what :func:`load_demos` checks against).

    ``backend`` is the physics backend actually used (the env's or its base env's ``backend``
    attribute, e.g. ``"generalized"`` for a Brax env made with ``backend=None``, ``"jax"`` for pointmass).
    """
    backend = getattr(env, "backend", None)
    if backend is None:
        backend = getattr(getattr(env, "base", None), "backend", None)
    return {
        "env": env.name,
        "backend": backend if isinstance(backend, str) else None,
        "episode_length": int(env.episode_length),
        "observation_size": int(env.observation_size),
        "action_size": int(env.action_size),
        "discrete": bool(env.discrete),
        "num_actions": env.num_actions,
    }


def _check_env(meta: Mapping[str, Any], env, path: str) -> None:
    for field, expected in env_metadata(env).items():
        got = meta.get(field)
        if field in ("discrete", "num_actions", "backend") and got is None:
            continue
        if got != expected:
            _fail(path, f"recorded {field}={got!r} but the target environment has {field}={expected!r}")


def load_demos(path: str, env=None) -> tuple[Transition, dict]:
    """Load demonstrations saved by :func:`save_demos`.

    Returns ``(transitions, metadata)``: a ``Transition`` of jax arrays with a leading ``(M,)`` axis
    (float32 observations, rewards and flags; actions float32 ``(M, act_dim)`` or int32 ``(M,)``, ``None`` for an
    observation-only set) and
    the metadata dict, to which ``episode_returns``/``episode_starts``/``episode_lengths`` (numpy) are added.
    A set without rewards (``has_rewards: false``) has ``reward=None`` and ``episode_returns`` ``None``.
    With ``env`` (a ``VecEnv``) the file must have been made for the same environment name, backend
    (when the file records one), episode length, observation size and action size/kind
    (see :func:`env_metadata`).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        _fail(path, "is a folder: expected a demonstrations .npz file")
    if not os.path.isfile(path):
        where = "" if os.path.isabs(path) else f" (a relative path is read from the current directory, {os.getcwd()!r})"
        _fail(path, "file not found" + where)
    if not zipfile.is_zipfile(path):
        _fail(path, "not a .npz archive (expected a demonstrations file written by jaxirl.data.save_demos / "
                    "`jaxirl expert`)")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as err:  # corrupt zip, not an npz...
        _fail(path, f"cannot read as .npz ({type(err).__name__}: {err})")
    expected = (*ARRAYS, *_EPISODE_ARRAYS, "metadata")
    if "metadata" not in arrays:
        _fail(path, f"missing array(s) {', '.join(k for k in expected if k not in arrays)}; expected {', '.join(expected)}")
    try:
        meta = json.loads(str(arrays.pop("metadata")))
    except (json.JSONDecodeError, TypeError) as err:
        _fail(path, f"'metadata' is not a JSON string: {err}")
    if not isinstance(meta, dict):
        _fail(path, "'metadata' must be a JSON object")
    for key in ("has_actions", "has_rewards"):
        if meta.get(key) is not None and not isinstance(meta[key], bool):
            _fail(path, f"metadata {key}: expected true or false, got {meta[key]!r}")
    # an observation-only set (metadata has_actions: false) has no actions array; one without rewards
    # (has_rewards: false) no rewards or episode returns
    optional = {"actions": meta.get("has_actions") is False, "rewards": meta.get("has_rewards") is False,
                "episode_returns": meta.get("has_rewards") is False}
    missing = [k for k in expected[:-1] if k not in arrays and not optional.get(k, False)]
    if missing:
        _fail(path, f"missing array(s) {', '.join(missing)}; expected {', '.join(expected)}")
    for key in ("env", "episode_length", "observation_size", "action_size"):
        if key not in meta:
            _fail(path, f"metadata is missing '{key}'")
    _check_arrays(arrays, meta, path)
    if env is not None:
        _check_env(meta, env, path)
        act = arrays.get("actions")
        if env.discrete != (meta["discrete"] if act is None else act.ndim == 1):
            _fail(path, "action kind (discrete/continuous) does not match the target environment")
        if act is not None and env.discrete and int(act.max()) >= env.num_actions:
            _fail(path, f"discrete 'actions' go up to {int(act.max())}; the target environment has "
                        f"{env.num_actions} actions")
    act = arrays.get("actions")
    if act is not None:
        act = jnp.asarray(act.astype(np.int32) if act.ndim == 1 else act.astype(np.float32))
    demos = Transition(
        obs=jnp.asarray(arrays["observations"], jnp.float32),
        action=act,
        reward=jnp.asarray(arrays["rewards"], jnp.float32) if "rewards" in arrays else None,
        next_obs=jnp.asarray(arrays["next_observations"], jnp.float32),
        terminated=jnp.asarray(arrays["terminated"], jnp.float32),
        truncated=jnp.asarray(arrays["truncated"], jnp.float32),
    )
    for name in _EPISODE_ARRAYS:
        meta[name] = arrays.get(name)  # (episode_returns: None in a set without rewards)
    return demos, meta


def expert_policy_score(meta: Mapping[str, Any], random_return: float | None = None,
                        expert_return: float | None = None) -> float | None:
    """The demonstrating expert POLICY's own normalised score: its deterministic evaluation as recorded in the
    metadata ``meta`` (:data:`EXPERT_EVAL_KEYS`) under the normaliser ``(R − R_random) / (R_expert − R_random)``
    with ``R_expert`` (default ``meta['expert_return']``, the demonstrated episodes' mean) and ``R_random``
    (default ``meta['random_return']``) — what a perfect imitator of that policy averages. The demonstrated
    episodes are few, so their mean can sit above or below the policy's average (shipped halfcheetah: 32 episodes
    8584, 128 evaluation episodes 9620, so the expert itself scores 1.116; the file it replaced 0.867). ``None``
    where something is not recorded."""
    from jaxirl.metrics import normalized_score

    ret = expert_eval_return(meta)
    random_return = meta.get("random_return") if random_return is None else random_return
    expert_return = meta.get("expert_return") if expert_return is None else expert_return
    if ret is None or random_return is None or expert_return is None or float(expert_return) == float(random_return):
        return None
    return float(normalized_score(ret, random_return, expert_return))


def expert_eval_return(meta: Mapping[str, Any]) -> float | None:
    """The demonstrating policy's own deterministic evaluation return recorded in ``meta`` (``None``: not recorded)."""
    ret = next((meta[k] for k in EXPERT_EVAL_KEYS if meta.get(k) is not None), None)
    return None if ret is None else float(ret)


def terminations_as_truncations(demos: Transition) -> Transition:
    """The same demonstrations with every termination recorded as a truncation instead.

    For locomotion experts that fall (e.g. a hopper expert that runs and then tips over), the fall is an
    artefact of an imperfect expert rather than behaviour to imitate.  With absorbing states (Kostrikov et
    al. 2019, ``discriminator.absorbing``), a demonstration set in which the expert falls teaches the
    discriminator that the absorbing state is expert-like, so the generator can learn to fall on purpose
    (``benchmarks/results/quality_hopper_spring.md``).  Recorded as truncations, the expert's episodes simply
    stop there: the expert never reaches the absorbing state, its learned reward is driven down, and ending
    an episode becomes costly — the assumption that termination means failure, made explicit.
    Episode boundaries are unchanged (each episode still ends where it ended).
    """
    if not isinstance(demos, Transition):
        raise ValueError(f"demos: expected a jaxirl.envs.Transition, got {type(demos).__name__}")
    term = demos.terminated
    return demos.replace(terminated=jnp.zeros_like(term), truncated=jnp.maximum(demos.truncated, term))


def without_actions(demos: Transition) -> Transition:
    """The same demonstrations without their actions (``action=None``): an observation-only set, as from a source
    that records states only (learning from observation, Torabi et al. 2018). :func:`save_demos` writes it without
    an ``actions`` array; :func:`jaxirl.train.make_train` trains on it only what never reads the expert's actions."""
    if not isinstance(demos, Transition):
        raise ValueError(f"demos: expected a jaxirl.envs.Transition, got {type(demos).__name__}")
    return demos.replace(action=None)


def first_episodes(demos: Transition, metadata: Mapping[str, Any], num: int) -> tuple[Transition, dict]:
    """The first ``num`` episodes of loaded demonstrations (as :func:`load_demos` returns them) — to measure how
    a method does with fewer demonstrations (e.g. GAIL against behavioural cloning as episodes get scarce, Ho &
    Ermon 2016). The metadata's episode arrays, ``num_episodes`` and ``num_transitions`` are cut to match and
    ``episodes_used`` records ``num``; ``expert_return`` (the normaliser of every score) is kept: the full set's
    mean, so scores with different ``num`` compare. Raises ``ValueError`` unless ``1 <= num <=`` the episodes
    the file has."""
    if not isinstance(demos, Transition):
        raise ValueError(f"demos: expected a jaxirl.envs.Transition, got {type(demos).__name__}")
    starts, lengths = (np.asarray(metadata.get(k)) for k in ("episode_starts", "episode_lengths"))
    have = int(starts.shape[0]) if starts.ndim == 1 else 0
    if have == 0 or lengths.ndim != 1 or lengths.shape != starts.shape:
        raise ValueError("metadata: no episode_starts / episode_lengths arrays (first_episodes cuts demonstrations "
                         "as load_demos returns them, with their episodes' metadata)")
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or not 1 <= num <= have:
        raise ValueError(f"demos.episodes: expected an int in [1, {have}] (the episodes the file has) or null, got {num!r}")
    end = int(starts[num - 1] + lengths[num - 1])
    meta = dict(metadata)
    if meta.get("expert_return") is None and metadata.get("episode_returns") is not None:  # the full set's mean
        meta["expert_return"] = float(np.mean(np.asarray(metadata["episode_returns"], np.float64)))
    for name in _EPISODE_ARRAYS:
        meta[name] = None if metadata.get(name) is None else np.asarray(metadata[name])[:num]
    meta.update(num_episodes=int(num), num_transitions=end, episodes_used=int(num))
    return jax.tree.map(lambda x: x[:end], demos), meta


def collect_demos(env, act_fn: Callable, key: jax.Array, num_episodes: int) -> tuple[Transition, np.ndarray]:
    """Roll out ``env`` with ``act_fn(obs, key) -> action`` and keep exactly ``num_episodes`` complete episodes.

    Every one of the ``N = env.num_envs`` environments runs ``k * episode_length`` steps in one jitted
    ``lax.scan``, with ``k = ceil(num_episodes / N)``; as no episode is longer than ``episode_length``,
    each environment completes at least ``k`` episodes.  The first ``k`` episodes of every environment are
    then taken in the order (episode index, environment index) and the first ``num_episodes`` kept.  The
    choice does not depend on the episodes' outcomes, so shorter (e.g. early-terminating) episodes are not
    over-represented.  Use a small ``num_envs`` (≈ ``num_episodes``) to avoid simulating unneeded episodes.
    Pass ``act_fn`` as a ``jax.tree_util.Partial`` over the policy parameters to keep them out of the
    compiled program's constants.

    Returns ``(transitions, episode_returns)``: a ``Transition`` with leading ``(M,)`` axis (numpy arrays,
    episodes stored one after the other) and the ``(num_episodes,)`` float32 returns.
    """
    if not isinstance(num_episodes, int) or isinstance(num_episodes, bool) or num_episodes < 1:
        raise ValueError(f"num_episodes: expected a positive int, got {num_episodes!r}")
    if getattr(env, "reset_pool", 0):  # one long scan: every episode from its own reset, not a reused pool state
        env = env.with_reset_pool(0)
    n = env.num_envs
    k = -(-num_episodes // n)
    steps = k * env.episode_length

    # A jax.tree_util.Partial act_fn is passed as an argument, so its arrays (e.g. policy parameters)
    # are traced inputs rather than constants baked into the compiled program.
    policy = act_fn if isinstance(act_fn, jax.tree_util.Partial) else jax.tree_util.Partial(act_fn)

    @jax.jit
    def rollout(policy, key):
        reset_key, key = jax.random.split(key)

        def body(env_state, step_key):
            action = policy(env_state.obs, step_key)
            env_state, tr = env.step(env_state, action)
            return env_state, tr

        _, traj = jax.lax.scan(body, env.reset(reset_key), jax.random.split(key, steps))
        return traj

    traj = jax.device_get(rollout(policy, key))  # (T, N, ...)
    done = np.asarray((traj.terminated > 0) | (traj.truncated > 0))
    episodes = []  # (episode index, env index, start, end) with end exclusive
    for i in range(n):
        ends = np.flatnonzero(done[:, i])[:k] + 1
        starts = np.concatenate([[0], ends[:-1]])
        episodes += [(j, i, s, e) for j, (s, e) in enumerate(zip(starts, ends))]
    episodes.sort()
    episodes = episodes[:num_episodes]
    if len(episodes) < num_episodes:  # cannot happen when every episode ends within episode_length
        raise RuntimeError(f"collected only {len(episodes)} complete episodes, wanted {num_episodes}")

    def gather(x):
        x = np.asarray(x)
        return np.concatenate([x[s:e, i] for _, i, s, e in episodes], axis=0)

    transitions = jax.tree.map(gather, traj)
    rewards = np.asarray(traj.reward)
    returns = np.array([rewards[s:e, i].sum() for _, i, s, e in episodes], dtype=np.float32)
    return transitions, returns
