"""Build a :class:`~jaxirl.envs.base.VecEnv` by name (``pointmass`` or any Brax environment) or from an MDP.

Brax is imported only when a Brax environment is made, so the tabular and ``pointmass`` paths stay light.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Optional

import numpy as np

from jaxirl.envs.base import VecEnv
from jaxirl.envs.pointmass import PointMass
from jaxirl.envs.tabular import TabularVecEnv

OWN_ENVS = ("pointmass",)
BRAX_ENVS = (
    "ant",
    "fast",
    "halfcheetah",
    "hopper",
    "humanoid",
    "humanoidstandup",
    "inverted_double_pendulum",
    "inverted_pendulum",
    "pusher",
    "reacher",
    "swimmer",
    "walker2d",
)
BRAX_BACKENDS = ("generalized", "spring", "positional", "mjx")


def env_names() -> tuple[str, ...]:
    """All names :func:`make` accepts."""
    return OWN_ENVS + BRAX_ENVS


def _positive_int(field: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{field}: expected a positive int, got {value!r}")
    return int(value)


def make(
    name: str,
    num_envs: int,
    episode_length: int = 1000,
    backend: Optional[str] = None,
    **env_kwargs,
) -> VecEnv:
    """``num_envs`` copies of environment ``name`` with time limit ``episode_length`` and auto-reset.

    Args:
      name: ``"pointmass"`` or a Brax environment name (see :data:`BRAX_ENVS`).
      num_envs: number of parallel environments (positive int).
      episode_length: time limit in steps (positive int).
      backend: Brax physics backend (one of :data:`BRAX_BACKENDS`); ``None`` uses Brax's default
        (``"generalized"``). Must be ``None`` for ``pointmass``.
      **env_kwargs: passed to the environment's constructor.
    """
    num_envs = _positive_int("num_envs", num_envs)
    episode_length = _positive_int("episode_length", episode_length)
    if name not in env_names():
        raise ValueError(f"name: unknown environment {name!r}; valid names are {', '.join(env_names())} (an env of "
                         "one's own with the Brax Env interface: wrap it as jaxirl.envs.VecEnv(env, num_envs, "
                         "episode_length) and train it from Python, README 'Python')")
    if name == "pointmass":
        if backend is not None:
            raise ValueError(f"backend: 'pointmass' is pure JAX and takes backend=None, got {backend!r}")
        return VecEnv(_construct(PointMass, name, env_kwargs), num_envs, episode_length, name=name)
    if backend is not None and backend not in BRAX_BACKENDS:
        raise ValueError(f"backend: unknown Brax backend {backend!r}; valid backends are {', '.join(BRAX_BACKENDS)}")
    if name == "fast" and (backend is not None or env_kwargs):  # Brax's test env: its __init__(**kwargs) drops them
        raise ValueError(f"env_kwargs: 'fast' (Brax's test env) ignores every argument; expected backend=None and no "
                         f"env kwargs, got backend={backend!r}, env_kwargs={env_kwargs}")
    with contextlib.redirect_stdout(sys.stderr):  # MuJoCo's optional-warp import prints to stdout (keep it clean:
        from brax import envs as brax_envs     # `jaxirl demos` prints JSON there); lazy: importing Brax takes seconds

    extra = {} if backend is None else {"backend": backend}
    base = _construct(lambda **kw: brax_envs.get_environment(name, **kw, **extra), name, env_kwargs)
    return VecEnv(base, num_envs, episode_length, name=name)


def _construct(constructor, name: str, env_kwargs: dict):
    """``constructor(**env_kwargs)``; an argument it does not take (or a value of a type it cannot use) is a
    ``ValueError`` naming ``env_kwargs``."""
    try:
        return constructor(**env_kwargs)
    except TypeError as err:
        what = "does not take" if "unexpected keyword" in str(err) else "cannot be made with"
        raise ValueError(f"env_kwargs: {name!r} {what} {sorted(env_kwargs)} ({err})") from None


def from_mdp(mdp, reward, num_envs: int, episode_length: Optional[int] = None) -> TabularVecEnv:
    """A tabular MDP with true ``reward`` ((S,), (S, A) or (S, A, S)) as a :class:`VecEnv`.

    ``episode_length`` defaults to (and must equal) ``mdp.horizon`` for a finite-horizon MDP and is
    required for an infinite-horizon one.
    """
    num_envs = _positive_int("num_envs", num_envs)
    if episode_length is not None:
        episode_length = _positive_int("episode_length", episode_length)
    return TabularVecEnv(mdp, reward, num_envs, episode_length)
