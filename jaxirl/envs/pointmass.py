"""A 2-D point mass that must reach a random goal: a small pure-JAX continuous-control task.

It follows the Brax ``Env`` interface (``reset``, ``step``, ``observation_size``, ``action_size``) without
importing Brax, compiles in about a second and is solved by PPO in well under a minute of CPU time, which
makes it the test bed for the adversarial IRL algorithms.

Dynamics (time step ``dt``; the action is a commanded velocity in ``[-1, 1]^2``)::

    v' = (1 - response) v + response * max_speed * a
    p' = clip(p + dt v', -arena, arena)
    r  = -||p' - g|| - action_cost * ||a||^2

The observation is ``(p, v, g)`` (6 numbers). Start ``p`` and goal ``g`` are uniform in the square
``[-arena, arena]^2``; the velocity starts at 0. There is no termination: episodes end only by the time
limit of the :class:`~jaxirl.envs.base.VecEnv`. A scripted expert is ``a = clip((g - p) * gain, -1, 1)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxirl.config import finite_number
from jaxirl.envs.base import BaseState


class PointMass:
    """Point mass reaching a goal (see the module docstring). All parameters are static Python floats."""

    def __init__(
        self,
        dt: float = 0.1,
        max_speed: float = 2.0,
        response: float = 0.5,
        arena: float = 1.0,
        action_cost: float = 0.01,
    ):
        for field, value in (("dt", dt), ("max_speed", max_speed), ("arena", arena)):
            if not finite_number(value) or not value > 0:
                raise ValueError(f"{field}: expected a finite positive number, got {value!r}")
        if not finite_number(response) or not 0 < response <= 1:
            raise ValueError(f"response: expected a number in (0, 1], got {response!r}")
        if not finite_number(action_cost) or not action_cost >= 0:
            raise ValueError(f"action_cost: expected a finite non-negative number, got {action_cost!r}")
        self.dt = float(dt)
        self.max_speed = float(max_speed)
        self.response = float(response)
        self.arena = float(arena)
        self.action_cost = float(action_cost)

    @property
    def observation_size(self) -> int:
        return 6

    @property
    def action_size(self) -> int:
        return 2

    @property
    def backend(self) -> str:
        return "jax"

    @property
    def unwrapped(self) -> "PointMass":
        return self

    def _obs(self, pos, vel, goal):
        return jnp.concatenate([pos, vel, goal]).astype(jnp.float32)

    def reset(self, rng: jax.Array) -> BaseState:
        k_pos, k_goal = jax.random.split(rng)
        # float32 state whatever jax_enable_x64 says (its default float is float64)
        pos = jax.random.uniform(k_pos, (2,), jnp.float32, minval=-self.arena, maxval=self.arena)
        goal = jax.random.uniform(k_goal, (2,), jnp.float32, minval=-self.arena, maxval=self.arena)
        vel = jnp.zeros(2, jnp.float32)
        zero = jnp.zeros((), jnp.float32)
        return BaseState(
            pipeline_state={"pos": pos, "vel": vel, "goal": goal},
            obs=self._obs(pos, vel, goal),
            reward=zero,
            done=zero,
            metrics={"distance": jnp.linalg.norm(pos - goal)},
        )

    def step(self, state: BaseState, action: jax.Array) -> BaseState:
        a = jnp.clip(jnp.asarray(action, jnp.float32), -1.0, 1.0)  # float32 physics (a float64 action: x64 code)
        ps = state.pipeline_state
        vel = (1.0 - self.response) * ps["vel"] + self.response * self.max_speed * a
        pos = jnp.clip(ps["pos"] + self.dt * vel, -self.arena, self.arena)
        dist = jnp.linalg.norm(pos - ps["goal"])
        reward = -dist - self.action_cost * jnp.sum(a**2)
        return state.replace(
            pipeline_state={"pos": pos, "vel": vel, "goal": ps["goal"]},
            obs=self._obs(pos, vel, ps["goal"]),
            reward=reward.astype(jnp.float32),
            done=jnp.zeros((), jnp.float32),
            metrics={"distance": dist},
        )


def scripted_action(obs: jax.Array, gain: float = 5.0) -> jax.Array:
    """A near-optimal controller for :class:`PointMass`: head for the goal, ``clip(gain (g - p), -1, 1)``."""
    return jnp.clip(gain * (obs[..., 4:6] - obs[..., 0:2]), -1.0, 1.0)
