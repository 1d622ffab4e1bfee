"""Build a :class:`~jaxirl.envs.base.VecEnv` by name (``pointmass`` or any Brax environment) or from an MDP.

Brax is imported only when a Brax environment is made, so the tabular and ``pointmass`` paths stay light.
"""

from __future__ import annotations

import contextlib
import re
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


# environments of one's own, by name: constructors of a Brax-interface env (jaxirl.envs.register_env)
_REGISTERED: dict = {}
_ORIGINS: dict = {}  # name -> (module, file) of the code that registered it (register_env)


def env_names() -> tuple[str, ...]:
    """All names :func:`make` accepts (the registered ones last)."""
    return OWN_ENVS + BRAX_ENVS + tuple(_REGISTERED)


def register_env(name: str, constructor, replace: bool = False):
    """Make ``name`` an environment of :func:`make` — and so an ``env.name`` of configs and the ``jaxirl``
    command — in this process. ``constructor(**env_kwargs)`` returns one (unbatched) env with the Brax ``Env``
    interface (``reset(key)``, ``step(state, action)``, ``observation_size``, ``action_size``; ``done`` a true
    termination: the time limit is :class:`VecEnv`'s); ``make`` batches it with auto-reset. A ``backend`` other
    than ``None`` is passed to it as ``backend=``. A config names the module that registers it in its top-level
    ``imports`` list, so the ``jaxirl`` command (and a resume or ``jaxirl eval`` of the run) imports it first.
    The names of the library's own envs are refused, a name that other code registered unless ``replace``; the same
    module registering it again (a reload) replaces it. Returns ``constructor``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name: expected an identifier (letters, digits, '_'), got {name!r}")
    if name in OWN_ENVS + BRAX_ENVS:
        raise ValueError(f"name: {name!r} is one of jaxirl's own environments; choose another name")
    if not callable(constructor):
        raise ValueError(f"constructor: expected a function returning an env, got {constructor!r}")
    from jaxirl.plugins import register

    register(_REGISTERED, _ORIGINS, name, constructor, replace, "a registered environment")
    return constructor


def _positive_int(field: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{field}: expected a positive int, got {value!r}")
    return int(value)


def make(
    name: str,
    num_envs: int,
    episode_length: int = 1000,
    backend: Optional[str] = None,
    *,
    reset_pool: int = 0,
    **env_kwargs,
) -> VecEnv:
    """``num_envs`` copies of environment ``name`` with time limit ``episode_length`` and auto-reset.

    Args:
      name: ``"pointmass"``, a Brax environment name (see :data:`BRAX_ENVS`) or one given to
        :func:`register_env`.
      num_envs: number of parallel environments (positive int).
      episode_length: time limit in steps (positive int).
      backend: Brax physics backend (one of :data:`BRAX_BACKENDS`); ``None`` uses Brax's default
        (``"generalized"``). Must be ``None`` for ``pointmass``.
      reset_pool: ``0``, or the number M of reset states an ended episode restarts from, refilled by
        :meth:`VecEnv.refill` (this package's rollouts call it once per rollout; a loop of one's own must call it),
        instead of a batched reset in every step where an env ends (:class:`VecEnv`).
      **env_kwargs: passed to the environment's constructor.
    """
    num_envs = _positive_int("num_envs", num_envs)
    episode_length = _positive_int("episode_length", episode_length)
    if name not in env_names():
        from jaxirl.plugins import imported_registrations

        imported = imported_registrations("environments")
        hint = (f" (register it there: jaxirl.envs.register_env({name!r}, constructor))" if imported else
                " (an env of one's own with the Brax Env interface: jaxirl.envs.register_env in a module that the "
                "config's `imports` lists, or jaxirl.envs.VecEnv(env, num_envs, episode_length) from Python; "
                "README 'Python')")
        raise ValueError(f"name: unknown environment {name!r}; valid names are {', '.join(env_names())}{imported}"
                         f"{hint}")
    if name in _REGISTERED:
        return VecEnv(_construct_registered(name, backend, env_kwargs), num_envs, episode_length, name=name,
                      reset_pool=reset_pool)
    if name == "pointmass":
        if backend is not None:
            raise ValueError(f"backend: 'pointmass' is pure JAX and takes backend=None, got {backend!r}")
        return VecEnv(_construct(PointMass, name, env_kwargs), num_envs, episode_length, name=name,
                      reset_pool=reset_pool)
    if backend is not None and backend not in BRAX_BACKENDS:
        raise ValueError(f"backend: unknown Brax backend {backend!r}; valid backends are {', '.join(BRAX_BACKENDS)}")
    if name == "fast" and (backend is not None or env_kwargs):  # Brax's test env: its __init__(**kwargs) drops them
        raise ValueError(f"env_kwargs: 'fast' (Brax's test env) ignores every argument; expected backend=None and no "
                         f"env kwargs, got backend={backend!r}, env_kwargs={env_kwargs}")
    with contextlib.redirect_stdout(sys.stderr):  # MuJoCo's optional-warp import prints to stdout (keep it clean:
        from brax import envs as brax_envs     # `jaxirl demos` prints JSON there); lazy: importing Brax takes seconds

    extra = {} if backend is None else {"backend": backend}
    base = _construct(lambda **kw: brax_envs.get_environment(name, **kw, **extra), name, env_kwargs)
    return VecEnv(base, num_envs, episode_length, name=name, reset_pool=reset_pool)


def _construct_registered(name: str, backend, env_kwargs: dict):
    """The env of a registered constructor: its arguments are checked against its signature first, or, for one
    that takes ``**kwargs``, by the "unexpected keyword argument" its call raises for one of them (a ``ValueError``
    naming ``env_kwargs`` or ``backend``); any other error raised inside it — a bug of the constructor — passes
    through with its traceback."""
    import inspect

    constructor = _REGISTERED[name]
    try:
        params = inspect.signature(constructor).parameters.values()
    except (TypeError, ValueError):  # no readable signature (e.g. a builtin): its call says
        params = None
    takes_any = params is None or any(p.kind is p.VAR_KEYWORD for p in params)
    if backend is not None:
        if "backend" in env_kwargs:
            raise ValueError("env_kwargs: 'backend' is make()'s own argument; pass it once, as backend=")
        if not takes_any and "backend" not in {p.name for p in params}:
            raise ValueError(f"backend: the constructor registered as {name!r} takes no backend= argument; expected "
                             f"None, got {backend!r}")
    kwargs = dict(env_kwargs) if backend is None else {**env_kwargs, "backend": backend}
    if params is not None:
        try:
            inspect.signature(constructor).bind(**kwargs)
        except TypeError as err:  # an argument it does not take, or one it needs and did not get
            what = "does not take" if "unexpected keyword" in str(err) else "cannot be made with"
            raise ValueError(f"env_kwargs: {name!r} {what} {sorted(env_kwargs)} ({err})") from None
    try:
        base = constructor(**kwargs)
    except TypeError as err:
        # a constructor that passes **kwargs on (the README's lambda) has them checked by the one it calls: an
        # "unexpected keyword argument 'x'" for an x that make() passed is about the arguments; anything else is
        # an error of the constructor's own code, and keeps its traceback
        named = re.search(r"unexpected keyword argument '(\w+)'", str(err))
        if not takes_any or named is None or named.group(1) not in kwargs:
            raise
        if named.group(1) == "backend" and "backend" not in env_kwargs:
            raise ValueError(f"backend: the constructor registered as {name!r} takes no backend= argument ({err}); "
                             f"expected None, got {backend!r}") from None
        raise ValueError(f"env_kwargs: {name!r} does not take {named.group(1)!r} ({err})") from None
    for attr in ("reset", "step", "action_size"):
        if not hasattr(base, attr):
            raise ValueError(f"name: the constructor registered as {name!r} returned {type(base).__name__}, "
                             f"which has no {attr!r} (expected an env with the Brax Env interface)")
    return base


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
