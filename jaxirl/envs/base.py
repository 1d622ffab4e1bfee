"""Batched environments with auto-reset that keeps the true final observation.

:class:`VecEnv` wraps any environment with the Brax ``Env`` interface (``reset(key) -> State``,
``step(state, action) -> State``; the state has ``obs``, ``reward`` and ``done``) and ``vmap``-s it over
``num_envs`` copies. Time limits are handled here, not by the base environment, so that the two ways an
episode ends stay distinguishable (Pardo et al. 2018, "Time Limits in Reinforcement Learning"):

* ``terminated``: the MDP itself ended (the base env reported ``done``); the value of ``next_obs`` is 0.
* ``truncated``: the time limit ``episode_length`` was hit; the episode could have continued, so a learner
  must bootstrap from the value of ``next_obs``. An episode that terminates on its last allowed step is
  ``terminated`` only (never both flags): it did end, so there is nothing to bootstrap.

``Transition.next_obs`` is always the real observation reached by the step, also when the episode ended;
``EnvState.obs`` is the observation to act on next, i.e. the first observation of a fresh episode after an
end. Everything is a pure function of pytrees; a ``VecEnv`` itself is a static Python object that jitted
code may close over.

Where a fresh episode's state comes from. By default a step in which any env ended draws a batched reset of all
``N`` envs (``vmap`` computes every lane) and keeps the ended envs' lanes — at GPU scale some env ends at nearly
every step, so nearly every step pays a reset. With ``reset_pool=M`` the state instead holds ``M`` reset states
drawn ahead (independent keys) and an ended env takes the next unused one (the ``k``-th env to end in a step takes
the ``k``-th next; a gather, no reset); :meth:`VecEnv.refill` draws a new pool, and the rollouts of the generators
(:func:`jaxirl.rl.ppo.rollout`, :func:`jaxirl.rl.soft_vi.rollout`) call it first, so one batched reset of ``M``
states is paid per rollout instead of up to one of ``N`` per step. Fresh episodes then start from independent draws
of the reset distribution as before, as long as at most ``M`` episodes end between two refills; past that the pool
is reused from its start (``EnvState.pool_drawn`` counts the draws since the last refill — the training metric
``train_reset_pool_reused`` of :mod:`jaxirl.train` is the share that reused a state; ``M = num_envs`` covers a
rollout unless more episodes end in it than there are envs). A reused state is the same state, including any random
key the base env keeps in it (a tabular MDP's sampling key: the episode then repeats its transitions given the same
actions). :func:`jaxirl.data.collect_demos` and :func:`jaxirl.rl.evaluate` step the env without its pool. The pool
holds ``M`` base-env states next to the ``N`` live ones (in memory and in checkpoints). Brax's own auto-reset, by
contrast, restarts every env from its first state for good.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


@struct.dataclass
class Transition:
    """One step (leading dims ``(N,)``) or a rollout (``(T, N)``) or a dataset (``(M,)``) of steps."""

    obs: jax.Array  # (..., obs_dim) float32
    action: jax.Array  # (..., act_dim) float32 (continuous) or (...,) int32 (discrete)
    reward: jax.Array  # (...,) true environment reward
    next_obs: jax.Array  # (..., obs_dim) the true next observation (final one if the episode ended)
    terminated: jax.Array  # (...,) float32 in {0, 1}: the MDP ended, do not bootstrap
    truncated: jax.Array  # (...,) float32 in {0, 1}: the time limit was hit, bootstrap from next_obs


@struct.dataclass
class EnvState:
    """State of ``num_envs`` environments plus per-environment episode bookkeeping."""

    inner: Any  # batched state of the base environment
    obs: jax.Array  # (N, obs_dim) observation to act on now (after auto-reset)
    key: jax.Array  # PRNG key for resets
    episode_return: jax.Array  # (N,) running true return of the current episode
    episode_length: jax.Array  # (N,) int32 steps taken in the current episode
    last_return: jax.Array  # (N,) return of the most recently completed episode (0 before any)
    last_length: jax.Array  # (N,) int32 length of the most recently completed episode
    completed: jax.Array  # (N,) int32 number of episodes completed so far (from -1 after a staggered reset)
    pool: Any = None  # with reset_pool=M: M base-env reset states drawn ahead (None without a pool)
    pool_drawn: Any = None  # with reset_pool: () int32, pool states handed out since the last refill


@struct.dataclass
class BaseState:
    """Minimal state with the fields of ``brax.envs.base.State``, for our pure-JAX environments.

    Lets the environments in this package follow the Brax ``Env`` interface without importing Brax.
    """

    pipeline_state: Any
    obs: jax.Array
    reward: jax.Array
    done: jax.Array
    metrics: Dict[str, jax.Array] = struct.field(default_factory=dict)
    info: Dict[str, Any] = struct.field(default_factory=dict)


def _select(mask: jax.Array, on_true, on_false):
    """Per-environment ``where`` over two pytrees with leading axis ``N``."""

    def pick(a, b):
        m = mask.reshape(mask.shape + (1,) * (a.ndim - mask.ndim))
        return jnp.where(m, a, b)

    return jax.tree.map(pick, on_true, on_false)


def _pool_size(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**31:
        raise ValueError(f"reset_pool: expected an int with 0 <= reset_pool < 2**31 (0: no pool; M: that many reset "
                         f"states drawn ahead, num_envs is a good size), got {value!r}")
    return int(value)


def _check_same_state(name: str, reset_state, step_state) -> None:
    """The auto-reset picks, env by env, between a stepped state and a fresh one, and a rollout carries the state
    through a scan: ``step`` must return a state of the same structure, shapes and dtypes as ``reset``. Checked on
    shapes only (``jax.eval_shape``); a mismatch — e.g. a float32 ``reward`` from ``reset`` and a float64 one from
    ``step`` under ``jax_enable_x64``, or a ``metrics`` dict whose keys change — is a ``ValueError`` naming the
    field, not a failure inside the compiled step."""
    flat_r, tree_r = jax.tree_util.tree_flatten_with_path(reset_state)
    flat_s, tree_s = jax.tree_util.tree_flatten_with_path(step_state)
    if tree_r != tree_s:
        paths_r = {jax.tree_util.keystr(p) for p, _ in flat_r}
        paths_s = {jax.tree_util.keystr(p) for p, _ in flat_s}
        diff = sorted(paths_r ^ paths_s)[:4]
        raise ValueError(f"{name}: step(state, action) returns a state of another structure than reset(key)"
                         + (f" (only in one of them: {', '.join(diff)})" if diff else "")
                         + "; the auto-reset selects between the two, so they must match (same fields, same metrics "
                           "and info keys)")
    for (path, a), (_, b) in zip(flat_r, flat_s):
        if (a.shape, a.dtype) != (b.shape, b.dtype):
            raise ValueError(f"{name}: step(state, action) returns {jax.tree_util.keystr(path)} as {b.dtype}{list(b.shape)} "
                             f"where reset(key) gave {a.dtype}{list(a.shape)}; the auto-reset selects between the two, "
                             f"so they must match (cast in the env; under jax_enable_x64 a float32 constant in reset "
                             f"and float64 arithmetic in step differ)")


def _refuse_brax_training_wrappers(base: Any, name: str) -> None:
    """Brax's training wrappers (``brax.envs.create``/``training.wrap``: episode limit, auto-reset, vmap) would
    truncate and reset inside the env, so a time limit would be recorded as a termination and the final
    observation lost; VecEnv does both itself (see the module docstring)."""
    seen, env = 0, base
    while env is not None and seen < 16:
        cls = type(env)
        if cls.__module__.startswith("brax.") and cls.__name__ in ("EpisodeWrapper", "AutoResetWrapper", "VmapWrapper"):
            raise ValueError(f"{name}: the env is wrapped in Brax's {cls.__name__} (e.g. by brax.envs.create); pass "
                             f"the bare env (brax.envs.get_environment) — VecEnv adds the time limit and the "
                             f"auto-reset itself and keeps the true final observation")
        env, seen = getattr(env, "env", None), seen + 1


class VecEnv:
    """``num_envs`` copies of a Brax-interface environment with time limit and auto-reset.

    Args:
      base: an object with ``reset(key)``, ``step(state, action)`` and ``action_size`` (Brax ``Env``
        interface). It must not auto-reset or truncate itself.
      num_envs: number of parallel environments ``N``.
      episode_length: time limit; an episode is truncated after this many steps.
      name: a label (e.g. the registry name).
      discrete: actions are integer indices in ``[0, num_actions)`` (``action_size`` is then 1).
      num_actions: number of discrete actions (only when ``discrete``).
      reset_pool: ``0`` (default): an ended episode restarts from a reset drawn in the step it ended (a batched
        reset of all envs in every step where one ends). ``M > 0``: from a pool of ``M`` reset states drawn ahead,
        refilled by :meth:`refill` (see the module docstring); ``num_envs`` is a good size unless more episodes
        than envs end in a rollout (short episodes).

    Continuous actions are clipped to ``[-1, 1]`` (the action range of every Brax environment and of
    ``pointmass``) before they reach the base environment; ``Transition.action`` records the action as
    given, so that a policy's ``log_prob`` of it stays consistent.
    """

    def __init__(
        self,
        base: Any,
        num_envs: int,
        episode_length: int,
        name: str = "env",
        discrete: bool = False,
        num_actions: Optional[int] = None,
        reset_pool: int = 0,
    ):
        if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
            raise ValueError(f"num_envs: expected a positive int, got {num_envs!r}")
        if not isinstance(episode_length, int) or isinstance(episode_length, bool) or not 1 <= episode_length < 2**31:
            raise ValueError(f"episode_length: expected a positive int below 2**31 (an int32 step counter), "
                             f"got {episode_length!r}")
        if discrete and (isinstance(num_actions, bool) or not isinstance(num_actions, (int, np.integer))
                         or num_actions < 1):
            raise ValueError(f"num_actions: a discrete env needs a positive int, got {num_actions!r}")
        self.reset_pool = _pool_size(reset_pool)
        self.base = base
        self.name = name
        self.num_envs = num_envs
        self.episode_length = episode_length
        self.discrete = bool(discrete)
        self.num_actions = int(num_actions) if discrete else None
        _refuse_brax_training_wrappers(base, name)
        size = 1 if discrete else getattr(base, "action_size", None)
        if isinstance(size, bool) or isinstance(size, jax.core.Tracer) or np.ndim(size) != 0 \
                or not np.issubdtype(np.asarray(size).dtype, np.integer) or int(size) < 1:
            raise ValueError(f"{name}: the env's action_size must be a positive int, got {size!r}")
        self.action_size = int(size)
        first = jax.eval_shape(base.reset, jax.random.PRNGKey(0))
        for field in ("obs", "reward", "done"):
            if not hasattr(first, field):
                raise ValueError(f"{name}: reset(key) must return a state with .obs, .reward and .done (the Brax Env "
                                 f"interface), got {type(first).__name__} without .{field}")
        obs_shape = first.obs.shape
        if len(obs_shape) != 1:
            raise ValueError(f"{name}: expected a flat observation vector, got shape {obs_shape}")
        self.observation_size = int(obs_shape[0])
        if not type(base).__module__.startswith(("brax.", "jaxirl.")):  # a user's env: check one step's shapes
            action = jax.ShapeDtypeStruct((), jnp.int32) if discrete else jax.ShapeDtypeStruct((self.action_size,),
                                                                                               jnp.float32)
            nxt = jax.eval_shape(base.step, first, action)
            for field, want in (("obs", obs_shape), ("reward", ()), ("done", ())):
                got = tuple(getattr(nxt, field).shape) if hasattr(nxt, field) else None
                if got != tuple(want):
                    raise ValueError(f"{name}: step(state, action) of ONE env must return {field} of shape {want}, "
                                     f"got {got} (VecEnv vmaps the env over num_envs itself)")
            _check_same_state(name, first, nxt)

    def __repr__(self) -> str:
        kind = f"discrete({self.num_actions})" if self.discrete else f"continuous({self.action_size})"
        pool = f", reset_pool={self.reset_pool}" if self.reset_pool else ""
        return (
            f"VecEnv({self.name!r}, num_envs={self.num_envs}, episode_length={self.episode_length}, "
            f"obs={self.observation_size}, actions={kind}{pool})"
        )

    def with_reset_pool(self, reset_pool: int) -> "VecEnv":
        """A copy of this env (same base env, same settings) with another ``reset_pool``."""
        other = copy.copy(self)
        other.reset_pool = _pool_size(reset_pool)
        return other

    def _reset_inner(self, key: jax.Array, count: Optional[int] = None):
        return jax.vmap(self.base.reset)(jax.random.split(key, self.num_envs if count is None else count))

    def refill(self, state: EnvState) -> EnvState:
        """Draw a new pool of ``reset_pool`` reset states (with a key split from the state's); unchanged without a
        pool. Call it before each rollout (this package's rollouts do)."""
        if not self.reset_pool:
            return state
        key, sub = jax.random.split(state.key)
        return state.replace(key=key, pool=self._reset_inner(sub, self.reset_pool),
                             pool_drawn=jnp.zeros((), jnp.int32))

    def reset(self, key: jax.Array, stagger: bool = False) -> EnvState:
        """Start ``num_envs`` fresh episodes.

        ``stagger=True`` starts every env's time-limit counter at a random step in ``[0, episode_length)``, so
        the first episodes are truncated at spread-out times rather than all at once — and so are the later
        ones wherever the policy survives to the time limit (all envs in step, a training batch would hold no
        state near an episode's start for a whole episode length). Those first, cut-short episodes are left
        out of the episode statistics: ``completed`` then starts at -1. With a reset pool the state also holds a
        first pool (:meth:`refill`, from a key of its own).
        """
        key, sub = jax.random.split(key)
        inner = self._reset_inner(sub)
        n = self.num_envs
        zf, zi = jnp.zeros(n, jnp.float32), jnp.zeros(n, jnp.int32)
        length, completed = zi, zi
        if stagger:
            key, k_offset = jax.random.split(key)
            length = jax.random.randint(k_offset, (n,), 0, self.episode_length, jnp.int32)
            completed = jnp.full(n, -1, jnp.int32)
        state = EnvState(
            inner=inner,
            obs=inner.obs.astype(jnp.float32),
            key=key,
            episode_return=zf,
            episode_length=length,
            last_return=zf,
            last_length=zi,
            completed=completed,
        )
        return self.refill(state)

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, Transition]:
        """Step all environments; ended ones are reset, the returned transition keeps the true next obs.

        ``action``: ``(num_envs, action_size)`` floats, or ``(num_envs,)`` integer indices for a discrete env (its
        shape and kind are checked while tracing: a narrower action would broadcast over every actuator)."""
        want = (self.num_envs,) if self.discrete else (self.num_envs, self.action_size)
        if tuple(jnp.shape(action)) != want:
            raise ValueError(f"action: {self.name} expects shape {want} "
                             f"({'integer indices' if self.discrete else 'action_size values per env'}), "
                             f"got {tuple(jnp.shape(action))}")
        if self.discrete and not jnp.issubdtype(jnp.result_type(action), jnp.integer):
            raise ValueError(f"action: {self.name} is discrete and takes integer indices, got {jnp.result_type(action)}")
        if self.discrete:
            env_action = action.astype(jnp.int32)
        else:
            env_action = jnp.clip(action, -1.0, 1.0)
        stepped = jax.vmap(self.base.step)(state.inner, env_action)
        next_obs = stepped.obs.astype(jnp.float32)
        reward = stepped.reward.astype(jnp.float32)
        terminated = (stepped.done > 0).astype(jnp.float32)
        length = state.episode_length + 1
        truncated = jnp.where(terminated > 0, 0.0, (length >= self.episode_length).astype(jnp.float32))
        done = (terminated + truncated) > 0

        if self.reset_pool:
            if state.pool is None:
                raise ValueError(f"state: {self.name} has a reset pool (reset_pool={self.reset_pool}) and this state "
                                 "none; reset it with this env, or call env.refill(state) first")
            # the k-th env to end in this step takes the pool's k-th unused state (from the start again past M)
            rank = jnp.cumsum(done.astype(jnp.int32)) - 1
            take = (state.pool_drawn + rank) % self.reset_pool
            fresh = jax.tree.map(lambda leaf: leaf[take], state.pool)
            key, pool_drawn = state.key, state.pool_drawn + jnp.sum(done, dtype=jnp.int32)
        else:
            key, sub = jax.random.split(state.key)
            # Resetting costs a base-env reset; skip it when nothing ended (a select under vmap, still correct).
            fresh = jax.lax.cond(jnp.any(done), self._reset_inner, lambda _: stepped, sub)
            pool_drawn = state.pool_drawn
        inner = _select(done, fresh, stepped)

        ep_return = state.episode_return + reward
        new_state = EnvState(
            inner=inner,
            obs=jnp.where(done[:, None], fresh.obs.astype(jnp.float32), next_obs),
            key=key,
            episode_return=jnp.where(done, 0.0, ep_return),
            episode_length=jnp.where(done, 0, length),
            last_return=jnp.where(done, ep_return, state.last_return),
            last_length=jnp.where(done, length, state.last_length),
            completed=state.completed + done.astype(jnp.int32),
            pool=state.pool,
            pool_drawn=pool_drawn,
        )
        transition = Transition(
            obs=state.obs,
            action=action,
            reward=reward,
            next_obs=next_obs,
            terminated=terminated,
            truncated=truncated,
        )
        return new_state, transition
