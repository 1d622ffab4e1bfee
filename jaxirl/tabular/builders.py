"""Benchmark MDPs for tabular IRL: gridworld, objectworld, random MDPs and the cliff world.

Every builder returns a :class:`TabularProblem` (the MDP, per-state features and the ground-truth state
reward). All grids are stored in the *sparse* transition form with one slot per action outcome
(``K = num_actions``), so a 128×128 grid (16384 states) needs a few MB.

Grid conventions (shared by all grid builders): state ``s = y * width + x``; actions
``0 = right (x+1), 1 = left (x−1), 2 = down (y+1), 3 = up (y−1), 4 = stay``; moving into a wall leaves the
agent where it is. With probability ``1 − slip`` the chosen action's outcome happens; with probability
``slip`` the outcome of a uniformly random *other* action happens (``slip / (A − 1)`` each), the
"noisy gridworld" of Ng & Russell 2000 and Ziebart et al. 2008.
"""

from __future__ import annotations

from typing import Optional, Union

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxirl.tabular.mdp import TabularMDP

__all__ = ["TabularProblem", "gridworld", "objectworld", "random_mdp", "cliff_world"]

_MOVES = np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [0, 0]])  # (dx, dy) for right, left, down, up, stay


@struct.dataclass
class TabularProblem:
    """An IRL benchmark: ``mdp``, ``features (S, F)`` float32 and the true state reward ``reward (S,)``."""

    mdp: TabularMDP
    features: jax.Array
    reward: jax.Array


# ----------------------------------------------------------------------------------------------- checks
def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


def _check_prob(name: str, value, upper: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0.0 <= value <= upper:
        raise ValueError(f"{name}: expected a number in [0, {upper}], got {value!r}")
    return float(value)


def _check_horizon(horizon, discount: float) -> Optional[int]:
    if horizon is None:
        if discount >= 1.0:
            raise ValueError(f"discount: an infinite-horizon problem (horizon=None) needs discount < 1, got {discount}")
        return None
    return _check_int("horizon", horizon, 1)


def _check_key(key) -> jax.Array:
    if key is None:
        raise ValueError("key: a jax.random key is required for a random problem")
    return key


# ----------------------------------------------------------------------------------------------- grids
def _grid_dynamics(width: int, height: int, num_actions: int, slip: float):
    """Sparse ``(probabilities, next_states)`` of shape ``(S, A, A)``: slot k holds action k's outcome."""
    ys, xs = np.divmod(np.arange(width * height), width)
    moves = _MOVES[:num_actions]
    nx = np.clip(xs[:, None] + moves[None, :, 0], 0, width - 1)
    ny = np.clip(ys[:, None] + moves[None, :, 1], 0, height - 1)
    outcome = (ny * width + nx).astype(np.int32)  # (S, A): where action a leads
    S = width * height
    next_states = np.broadcast_to(outcome[:, None, :], (S, num_actions, num_actions)).copy()
    probs = np.full((num_actions, num_actions), slip / (num_actions - 1), dtype=np.float32)
    np.fill_diagonal(probs, 1.0 - slip)
    probs = np.broadcast_to(probs[None], (S, num_actions, num_actions)).astype(np.float32)
    return probs, next_states


def _coords(size_x: int, size_y: int) -> np.ndarray:
    ys, xs = np.divmod(np.arange(size_x * size_y), size_x)
    return np.stack([xs, ys], axis=1).astype(np.float32)


def _initial(name: str, S: int) -> np.ndarray:
    if name == "uniform":
        return np.full(S, 1.0 / S, dtype=np.float32)
    if name == "corner":
        p0 = np.zeros(S, dtype=np.float32)
        p0[0] = 1.0
        return p0
    raise ValueError(f"initial: expected 'uniform' or 'corner', got {name!r}")


def gridworld(
    size: int,
    slip: float = 0.0,
    discount: float = 0.9,
    horizon: Optional[int] = None,
    reward: Union[str, np.ndarray] = "goal",
    *,
    features: str = "onehot",
    initial: str = "uniform",
    num_reward_cells: int = 4,
    key: Optional[jax.Array] = None,
) -> TabularProblem:
    """An ``size × size`` gridworld with 5 actions (see the module docstring for the dynamics).

    Args:
      reward: ``"goal"`` — +1 in the bottom-right corner cell ``(size−1, size−1)``, 0 elsewhere (the agent
        can stay there and keep collecting it); ``"random"`` — ``num_reward_cells`` distinct cells drawn
        with ``key`` get rewards uniform in [0.5, 1], 0 elsewhere; or an array ``(S,)``.
      features: ``"onehot"`` — identity ``(S, S)`` (the reward is then exactly ``features @ reward``);
        ``"coords"`` — ``(x / (size − 1), y / (size − 1), 1)``, ``(S, 3)`` (the "goal" reward is not linear
        in these; use them with an MLP reward model).
      initial: ``"uniform"`` over all cells (the default, good coverage for IRL) or ``"corner"`` (cell 0).
    """
    size = _check_int("size", size, 2)
    slip = _check_prob("slip", slip)
    discount = _check_prob("discount", discount)
    horizon = _check_horizon(horizon, discount)
    S = size * size
    probs, nxt = _grid_dynamics(size, size, 5, slip)
    mdp = TabularMDP(jnp.asarray(probs), jnp.asarray(_initial(initial, S)), np.float64(discount), horizon, jnp.asarray(nxt))

    if isinstance(reward, str):
        if reward == "goal":
            r = np.zeros(S, np.float32)
            r[S - 1] = 1.0
        elif reward == "random":
            n = _check_int("num_reward_cells", num_reward_cells, 1)
            if n > S:
                raise ValueError(f"num_reward_cells: expected at most {S} cells, got {n}")
            k1, k2 = jax.random.split(_check_key(key))
            cells = np.asarray(jax.random.choice(k1, S, (n,), replace=False))
            r = np.zeros(S, np.float32)
            r[cells] = np.asarray(jax.random.uniform(k2, (n,), minval=0.5, maxval=1.0))
        else:
            raise ValueError(f"reward: expected 'goal', 'random' or an array of shape ({S},), got {reward!r}")
    else:
        r = np.asarray(reward, np.float32)
        if r.shape != (S,) or not np.all(np.isfinite(r)):
            raise ValueError(f"reward: expected a finite array of shape ({S},), got shape {r.shape}")

    if features == "onehot":
        f = np.eye(S, dtype=np.float32)
    elif features == "coords":
        f = np.concatenate([_coords(size, size) / (size - 1), np.ones((S, 1), np.float32)], axis=1)
    else:
        raise ValueError(f"features: expected 'onehot' or 'coords', got {features!r}")
    return TabularProblem(mdp, jnp.asarray(f), jnp.asarray(r))


def objectworld(
    size: int,
    num_objects: int,
    num_colours: int = 2,
    slip: float = 0.3,
    discount: float = 0.9,
    horizon: Optional[int] = None,
    key: Optional[jax.Array] = None,
    *,
    initial: str = "uniform",
) -> TabularProblem:
    """Objectworld of Levine, Popović & Koltun 2011 ("Nonlinear IRL with Gaussian processes").

    ``num_objects`` objects are placed in distinct random cells, each with a random inner and outer colour
    out of ``num_colours``. Features (``2C`` continuous): the Euclidean distance from the cell to the
    nearest object of each *inner* colour, then of each *outer* colour (``2·size`` when no object has that
    colour). True reward (Levine et al. 2011, Sec. 6, on the outer colours, 0-indexed colours 0 and 1):
    +1 in cells within distance 3 of colour 0 **and** within distance 2 of colour 1; −1 within distance 3
    of colour 0 only; 0 otherwise. Inner colours are distractors. Dynamics: the 5-action grid with
    ``slip`` (Levine et al. use 0.3).
    """
    size = _check_int("size", size, 2)
    num_objects = _check_int("num_objects", num_objects, 1)
    num_colours = _check_int("num_colours", num_colours, 2)
    if num_objects > size * size:
        raise ValueError(f"num_objects: at most size*size = {size * size}, got {num_objects}")
    slip = _check_prob("slip", slip)
    discount = _check_prob("discount", discount)
    horizon = _check_horizon(horizon, discount)
    k_pos, k_in, k_out = jax.random.split(_check_key(key), 3)
    S = size * size
    cells = np.asarray(jax.random.choice(k_pos, S, (num_objects,), replace=False))
    inner = np.asarray(jax.random.randint(k_in, (num_objects,), 0, num_colours))
    outer = np.asarray(jax.random.randint(k_out, (num_objects,), 0, num_colours))

    xy = _coords(size, size)
    dist = np.linalg.norm(xy[:, None, :] - xy[cells][None, :, :], axis=-1)  # (S, num_objects)
    far = np.float32(2 * size)

    def nearest(colours):
        return np.stack([np.where(colours[None] == c, dist, far).min(axis=1) for c in range(num_colours)], axis=1)

    d_in, d_out = nearest(inner), nearest(outer)
    features = np.concatenate([d_in, d_out], axis=1).astype(np.float32)
    near0, near1 = d_out[:, 0] <= 3.0, d_out[:, 1] <= 2.0
    reward = np.where(near0 & near1, 1.0, np.where(near0, -1.0, 0.0)).astype(np.float32)

    probs, nxt = _grid_dynamics(size, size, 5, slip)
    mdp = TabularMDP(jnp.asarray(probs), jnp.asarray(_initial(initial, S)), np.float64(discount), horizon, jnp.asarray(nxt))
    return TabularProblem(mdp, jnp.asarray(features), jnp.asarray(reward))


def random_mdp(
    num_states: int,
    num_actions: int,
    branching: int = 2,
    discount: float = 0.9,
    horizon: Optional[int] = None,
    key: Optional[jax.Array] = None,
) -> TabularProblem:
    """A random "Garnet" MDP (Archibald et al. 1995; the name as in Bhatnagar et al. 2009): each (s, a) leads to
    ``branching`` distinct random next states.

    Probabilities are Dirichlet(1, …, 1) (``branching = 1`` gives deterministic dynamics); initial
    distribution uniform; features one-hot; reward standard normal per state (``features @ reward``).
    Drawing the next states takes ``O(S² A)`` memory, fine up to a few thousand states.
    """
    S = _check_int("num_states", num_states, 1)
    A = _check_int("num_actions", num_actions, 1)
    b = _check_int("branching", branching, 1)
    if b > S:
        raise ValueError(f"branching: at most num_states = {S}, got {b}")
    discount = _check_prob("discount", discount)
    horizon = _check_horizon(horizon, discount)
    k_next, k_prob, k_rew = jax.random.split(_check_key(key), 3)
    # b distinct next states per (s, a): the indices of the b largest of S iid uniforms.
    _, nxt = jax.lax.top_k(jax.random.uniform(k_next, (S, A, S)), b)
    probs = jax.random.dirichlet(k_prob, jnp.ones(b), (S, A)).astype(jnp.float32)
    probs = probs / probs.sum(-1, keepdims=True)
    reward = jax.random.normal(k_rew, (S,), jnp.float32)
    mdp = TabularMDP(probs, jnp.full((S,), 1.0 / S, jnp.float32), np.float64(discount), horizon, nxt.astype(jnp.int32))
    return TabularProblem(mdp, jnp.eye(S, dtype=jnp.float32), reward)


def cliff_world(
    width: int = 12,
    height: int = 4,
    slip: float = 0.0,
    discount: float = 0.9,
    horizon: Optional[int] = None,
    *,
    step_reward: float = -1.0,
    cliff_reward: float = -100.0,
) -> TabularProblem:
    """The cliff-walking grid of Sutton & Barto (2018, Example 6.6), with 4 actions (no "stay").

    The start is the bottom-left cell ``(0, height−1)`` (the initial state), the goal the bottom-right
    one; the cells between them on the bottom row are the cliff. Rewards are per state: ``step_reward``
    in ordinary cells, ``cliff_reward`` in a cliff cell, 0 at the goal. The goal is absorbing, and every
    action taken in a cliff cell returns the agent to the start — falling costs ``cliff_reward`` plus the
    walk back (one extra decision is spent in the cliff cell, since rewards here are state rewards).
    Features are one-hot (``features @ reward == reward``).
    """
    width = _check_int("width", width, 3)
    height = _check_int("height", height, 2)
    slip = _check_prob("slip", slip)
    discount = _check_prob("discount", discount)
    horizon = _check_horizon(horizon, discount)
    for name, v in (("step_reward", step_reward), ("cliff_reward", cliff_reward)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise ValueError(f"{name}: expected a finite number, got {v!r}")
    S, A = width * height, 4
    probs, nxt = _grid_dynamics(width, height, A, slip)
    start, goal = (height - 1) * width, S - 1
    cliff = np.arange(start + 1, goal)
    nxt[goal] = goal
    nxt[cliff] = start
    reward = np.full(S, step_reward, np.float32)
    reward[cliff] = cliff_reward
    reward[goal] = 0.0
    p0 = np.zeros(S, np.float32)
    p0[start] = 1.0
    mdp = TabularMDP(jnp.asarray(probs), jnp.asarray(p0), np.float64(discount), horizon, jnp.asarray(nxt))
    return TabularProblem(mdp, jnp.eye(S, dtype=jnp.float32), jnp.asarray(reward))
