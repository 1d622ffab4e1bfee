"""A :class:`~jaxirl.tabular.mdp.TabularMDP` as a sampled environment with the Brax ``Env`` interface.

Observations are one-hot states (float32, size ``S``), actions are int32 indices. Next states are drawn
exactly from ``T(s, a, ·)`` (dense or sparse form); the reward is a given true reward of shape ``(S,)``
(``r(s)`` of the state where the decision is made), ``(S, A)`` or ``(S, A, S)`` (using the sampled next
state). There is no termination; a finite-horizon MDP's episodes are truncated after its ``H`` decisions,
which matches the ``H`` reward collections of :func:`jaxirl.tabular.soft_vi.soft_value_iteration`.
(Flagged as truncations, like any time limit: the one-hot state does not hold the time step. The exact
soft-VI generator keeps a stationary policy and refuses a finite-horizon MDP — the finite horizon is solved by
:func:`jaxirl.tabular.soft_vi.soft_value_iteration` itself, e.g. inside MaxEnt IRL — while a PPO policy on such an
env bootstraps ``γ V(s_H)`` past the horizon as it would for a time limit: an infinite-horizon learner's view of
the same MDP.)
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxirl.envs.base import BaseState, VecEnv
from jaxirl.tabular.mdp import TabularMDP, check_reward


class TabularEnv:
    """Single-environment sampler of a tabular MDP (the randomness lives in the state's key)."""

    def __init__(self, mdp: TabularMDP, reward):
        check_reward(mdp, reward)
        # JAX arrays, whatever the MDP holds (numpy arrays cannot be indexed by the traced state in `step`)
        self.mdp = mdp.replace(transition=jnp.asarray(mdp.transition), initial=jnp.asarray(mdp.initial),
                               next_states=None if mdp.next_states is None else jnp.asarray(mdp.next_states))
        self.reward = jnp.asarray(reward, jnp.float32)

    @property
    def observation_size(self) -> int:
        return self.mdp.num_states

    @property
    def action_size(self) -> int:
        return 1

    @property
    def backend(self) -> str:
        return "jax"

    @property
    def unwrapped(self) -> "TabularEnv":
        return self

    def _obs(self, s):
        return jax.nn.one_hot(s, self.mdp.num_states, dtype=jnp.float32)

    def reset(self, rng: jax.Array) -> BaseState:
        k_init, k_next = jax.random.split(rng)
        s = jax.random.categorical(k_init, jnp.log(self.mdp.initial)).astype(jnp.int32)
        zero = jnp.zeros((), jnp.float32)
        return BaseState(pipeline_state={"s": s, "key": k_next}, obs=self._obs(s), reward=zero, done=zero)

    def _sample_next(self, key, s, a):
        logits = jnp.log(self.mdp.transition[s, a])
        k = jax.random.categorical(key, logits)
        if self.mdp.is_sparse:
            return self.mdp.next_states[s, a, k].astype(jnp.int32)
        return k.astype(jnp.int32)

    def _reward(self, s, a, s_next):
        S, A = self.mdp.num_states, self.mdp.num_actions
        if self.reward.shape == (S,):
            return self.reward[s]
        if self.reward.shape == (S, A):
            return self.reward[s, a]
        return self.reward[s, a, s_next]

    def step(self, state: BaseState, action: jax.Array) -> BaseState:
        s = state.pipeline_state["s"]
        a = jnp.clip(jnp.reshape(action, ()).astype(jnp.int32), 0, self.mdp.num_actions - 1)
        key, sub = jax.random.split(state.pipeline_state["key"])
        s_next = self._sample_next(sub, s, a)
        return state.replace(
            pipeline_state={"s": s_next, "key": key},
            obs=self._obs(s_next),
            reward=self._reward(s, a, s_next),
            done=jnp.zeros((), jnp.float32),
        )


class TabularVecEnv(VecEnv):
    """A :class:`VecEnv` over a tabular MDP; exposes ``mdp``, ``reward`` and :meth:`state_index`."""

    def __init__(self, mdp: TabularMDP, reward, num_envs: int, episode_length: Optional[int] = None):
        if not isinstance(mdp, TabularMDP):
            raise ValueError(f"mdp: expected a jaxirl.tabular.TabularMDP, got {type(mdp).__name__}")
        if mdp.horizon is not None:
            if episode_length is not None and episode_length != mdp.horizon:
                raise ValueError(
                    f"episode_length: the MDP has a finite horizon {mdp.horizon}; pass episode_length=None "
                    f"or {mdp.horizon}, got {episode_length!r}"
                )
            episode_length = mdp.horizon
        elif episode_length is None:
            raise ValueError("episode_length: an infinite-horizon MDP needs a positive int episode_length")
        if isinstance(reward, (list, tuple)):
            reward = np.asarray(reward, np.float32)
        base = TabularEnv(mdp, reward)
        super().__init__(
            base,
            num_envs=num_envs,
            episode_length=int(episode_length) if isinstance(episode_length, (int, np.integer)) else episode_length,
            name="tabular",
            discrete=True,
            num_actions=mdp.num_actions,
        )
        self.mdp = mdp
        self.reward = base.reward

    @staticmethod
    def state_index(obs: jax.Array) -> jax.Array:
        """Integer state of one-hot observations ``(..., S) -> (...)``."""
        return jnp.argmax(obs, axis=-1).astype(jnp.int32)
