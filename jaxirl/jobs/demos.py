"""``jaxirl demos FILE``: validate a demonstrations file and describe what it holds.

Loads ``FILE`` with :func:`jaxirl.data.load_demos` (every check of the schema: shapes, dtypes, NaN, complete
episodes, returns equal to the summed rewards where the file has rewards; a failure is a ``ValueError`` naming the array or field), then
prints a readable description on stderr — where it comes from (env, backend, time limit, sizes, the expert
run and device recorded in its metadata), the episodes' returns (mean, spread, range; "not recorded" in a set without
rewards), lengths and how they
ended (terminated: the MDP ended, e.g. a fall; truncated: the time limit), and one line per episode — and
returns the same as a summary (printed as JSON on stdout by the CLI).

Options (``key=value``):

    check_env:  true: also build the environment the metadata names (``env``, ``backend``, ``episode_length``,
                ``env_kwargs``) and check the file against it, as ``jaxirl train`` does (default false:
                building a Brax env takes seconds)
    episodes:   true (default): one line per episode on stderr; false: the totals only
    imports:    [] — with check_env, modules to import first: those that register the metadata's env when it is
                one of one's own (``jaxirl.envs.register_env``; as a config's ``imports``); by default the
                metadata's own ``imports`` (recorded by ``jaxirl expert``)

``expert_policy_score`` (where the metadata records the expert policy's own deterministic evaluation and the
random policy's return) is that evaluation under the file's normaliser, ``(R_eval − R_random) / (R_expert −
R_random)`` with ``R_expert`` the demonstrated episodes' mean (in a set without rewards, the recorded one): what a perfect imitator of the expert policy
averages in the scores of ``jaxirl train`` / ``jaxirl bc`` (the shipped halfcheetah file: 1.116).
"""

from __future__ import annotations

import sys
from typing import Any, Mapping, Sequence

import numpy as np

from jaxirl.config import merge, parse_overrides, rename_field
from jaxirl.plugins import import_modules
from jaxirl.data import expert_eval_return, expert_policy_score

__all__ = ["main", "DEFAULTS", "describe"]

DEFAULTS = {"check_env": False, "episodes": True, "imports": []}


def describe(demos, meta: Mapping[str, Any], path: str) -> dict:
    """The summary of loaded demonstrations (``demos``, ``meta`` as :func:`jaxirl.data.load_demos` returns them)."""
    recorded = meta.get("episode_returns") is not None  # (a set without rewards has none)
    returns = np.asarray(meta["episode_returns"], np.float64) if recorded else None
    lengths = np.asarray(meta["episode_lengths"], np.int64)
    starts = np.asarray(meta["episode_starts"], np.int64)
    last = starts + lengths - 1
    terminated = np.asarray(demos.terminated)[last] > 0
    info = {k: v for k, v in meta.items() if k not in ("episode_returns", "episode_starts", "episode_lengths")}
    return {
        "path": path,
        "env": meta["env"], "backend": meta.get("backend"), "episode_length": meta["episode_length"],
        "observation_size": meta["observation_size"], "action_size": meta["action_size"],
        "discrete": bool(meta["discrete"] if demos.action is None else np.asarray(demos.action).ndim == 1),
        "has_actions": demos.action is not None,
        "episodes": int(lengths.shape[0]), "transitions": int(np.asarray(demos.obs).shape[0]),
        "has_rewards": recorded,
        **{f"return_{k}": float(f(returns)) if recorded else None
           for k, f in (("mean", np.mean), ("std", np.std), ("min", np.min), ("median", np.median), ("max", np.max))},
        "length_mean": float(lengths.mean()), "length_min": int(lengths.min()), "length_max": int(lengths.max()),
        "terminated_episodes": int(terminated.sum()), "truncated_episodes": int((~terminated).sum()),
        "expert_return": meta.get("expert_return"), "random_return": meta.get("random_return"),
        "expert_eval_return": expert_eval_return(meta), "expert_policy_score": expert_policy_score(meta),
        "episode_returns": returns.tolist() if recorded else None, "episode_lengths": lengths.tolist(),
        "episode_ends": ["terminated" if t else "truncated" for t in terminated],
        "metadata": info,
    }


def _fmt(x: Any) -> str:
    return "—" if x is None else (f"{x:.4g}" if isinstance(x, float) else str(x))


def _report(s: Mapping[str, Any], episodes: bool) -> str:
    m = s["metadata"]
    made = ", ".join(f"{k} {m[k]}" for k in ("expert_run", "device", "created", "jaxirl_version") if m.get(k))
    lines = [
        f"{s['path']}: {s['env']} (backend {_fmt(s['backend'])}, time limit {s['episode_length']}), "
        f"observations {s['observation_size']}, actions {s['action_size']}{' (discrete)' if s['discrete'] else ''}"
        f"{'' if s['has_actions'] else ' — not recorded (observations only)'}",
        f"  made by: {made or '—'}",
        f"  {s['episodes']} episodes, {s['transitions']} transitions; lengths {s['length_min']}–{s['length_max']} "
        f"(mean {s['length_mean']:.1f}); ended by termination {s['terminated_episodes']}, by the time limit "
        f"{s['truncated_episodes']}",
        (f"  return {s['return_mean']:.4g} ± {s['return_std']:.4g} (min {s['return_min']:.4g}, median "
         f"{s['return_median']:.4g}, max {s['return_max']:.4g})" if s["has_rewards"] else
         "  returns: not recorded (no rewards)") + f"; normaliser: expert {_fmt(s['expert_return'])}, "
        f"random {_fmt(s['random_return'])}",
    ]
    if s["expert_eval_return"] is not None:
        lines.append(f"  the expert policy's own deterministic evaluation: {_fmt(s['expert_eval_return'])} (score "
                     f"{_fmt(s['expert_policy_score'])} under this normaliser: a perfect imitator's)")
    if s.get("env_check"):
        lines.append(f"  environment check: {s['env_check']}")
    if episodes:
        lines.append("  episode  length  return      end")
        returns = [f"{r:10.4g}" for r in s["episode_returns"] or []] or [f"{'—':>10}"] * len(s["episode_lengths"])
        for i, (n, r, end) in enumerate(zip(s["episode_lengths"], returns, s["episode_ends"])):
            lines.append(f"  {i:7d}  {n:6d}  {r}  {end}")
    return "\n".join(lines)


def main(path: str, overrides: Sequence[str] = (), stream=None) -> dict:
    """Validate ``path`` and describe it (stderr, or ``stream``); returns the summary."""
    from jaxirl import data

    opts = merge(DEFAULTS, parse_overrides(overrides), schema=DEFAULTS)
    for key in ("check_env", "episodes"):
        if not isinstance(opts[key], bool):
            raise ValueError(f"{key}: expected true or false, got {opts[key]!r}")
    if opts["imports"] and not opts["check_env"]:
        raise ValueError("imports: only used with check_env=true (to build the metadata's env); without it nothing "
                         "is imported")
    demos, meta = data.load_demos(path)
    summary = describe(demos, meta, path)
    if opts["check_env"]:
        recorded = meta.get("imports") if isinstance(meta.get("imports"), list) else []  # (`jaxirl expert` writes)
        import_modules(opts["imports"] or recorded, field="imports" if opts["imports"] else "metadata imports")
        from jaxirl.envs import make
        from jaxirl.envs.registry import BRAX_BACKENDS

        backend = meta.get("backend") if meta.get("backend") in BRAX_BACKENDS else None  # pointmass records "jax"
        kwargs = meta.get("env_kwargs") or {}
        try:
            env = make(meta["env"], 1, episode_length=int(meta["episode_length"]), backend=backend, **kwargs)
        except ValueError as e:  # make's own argument names (name, env_kwargs, ...) are the metadata's fields here
            raise ValueError(f"demonstrations {path!r}: metadata {rename_field(e, 'name', 'env')}") from None
        data.load_demos(path, env=env)  # raises on any mismatch with the env the metadata names
        summary["env_check"] = f"matches {env.name} ({data.env_metadata(env)['backend']})"
    print(_report(summary, opts["episodes"]), file=stream if stream is not None else sys.stderr)
    return summary
