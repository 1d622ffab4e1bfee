"""Tabular benchmark builders: valid stochastic dynamics, brute-force dense grids, paper reward rules."""

import itertools

import jax
import numpy as np
import pytest

from jaxirl.tabular.builders import cliff_world, gridworld, objectworld, random_mdp


def _check_valid(problem):
    mdp = problem.mdp
    T = np.asarray(mdp.dense_transition())
    S, A = mdp.num_states, mdp.num_actions
    assert T.shape == (S, A, S)
    np.testing.assert_allclose(T.sum(-1), 1.0, atol=1e-5)
    assert (T >= 0).all()
    np.testing.assert_allclose(np.asarray(mdp.initial).sum(), 1.0, atol=1e-5)
    assert problem.features.shape[0] == S and problem.features.dtype == np.float32
    assert problem.reward.shape == (S,) and problem.reward.dtype == np.float32


def _dense_grid(size, slip):
    """Independent loop-based construction of the 5-action slippery gridworld."""
    moves = [(1, 0), (-1, 0), (0, 1), (0, -1), (0, 0)]
    S = size * size
    T = np.zeros((S, 5, S))
    for y, x, a in itertools.product(range(size), range(size), range(5)):
        for b, (dx, dy) in enumerate(moves):
            nx, ny = x + dx, y + dy
            if not (0 <= nx < size and 0 <= ny < size):
                nx, ny = x, y
            T[y * size + x, a, ny * size + nx] += (1 - slip) if a == b else slip / 4
    return T


@pytest.mark.parametrize("slip", [0.0, 0.3])
def test_sparse_gridworld_equals_dense_brute_force(slip):
    p = gridworld(4, slip=slip)
    _check_valid(p)
    assert p.mdp.is_sparse and p.mdp.transition.shape == (16, 5, 5)
    np.testing.assert_allclose(np.asarray(p.mdp.dense_transition()), _dense_grid(4, slip), atol=1e-6)
    assert float(p.reward[15]) == 1.0 and float(p.reward.sum()) == 1.0  # the documented goal corner
    np.testing.assert_array_equal(np.asarray(p.features), np.eye(16))


def test_gridworld_options():
    p = gridworld(5, reward="random", num_reward_cells=3, key=jax.random.key(0), features="coords",
                  initial="corner", horizon=7, discount=1.0)
    _check_valid(p)
    assert int((np.asarray(p.reward) > 0).sum()) == 3 and p.mdp.horizon == 7
    assert p.features.shape == (25, 3) and float(p.mdp.initial[0]) == 1.0


def test_objectworld_features_and_reward_rule():
    size, C = 10, 3
    p = objectworld(size, 12, C, slip=0.3, key=jax.random.key(1))
    _check_valid(p)
    F, r = np.asarray(p.features), np.asarray(p.reward)
    assert F.shape == (size * size, 2 * C)
    xy = np.array([(s % size, s // size) for s in range(size * size)], float)
    for c in range(2 * C):  # every feature is the distance to the nearest cell where it is 0
        cells = np.flatnonzero(F[:, c] == 0)
        if cells.size == 0:
            np.testing.assert_allclose(F[:, c], 2 * size)
            continue
        brute = np.array([min(np.hypot(*(xy[s] - xy[o])) for o in cells) for s in range(size * size)])
        np.testing.assert_allclose(F[:, c], brute, atol=1e-5)
    # Levine et al. 2011: +1 within 3 of (outer) colour 1 and 2 of colour 2; -1 within 3 of colour 1 only.
    d1, d2 = F[:, C], F[:, C + 1]
    expected = np.where((d1 <= 3) & (d2 <= 2), 1.0, np.where(d1 <= 3, -1.0, 0.0))
    np.testing.assert_array_equal(r, expected)
    assert set(np.unique(r)) <= {-1.0, 0.0, 1.0} and len(np.unique(r)) >= 2


def test_random_mdp_branching():
    p = random_mdp(12, 3, branching=3, key=jax.random.key(2))
    _check_valid(p)
    nxt = np.asarray(p.mdp.next_states)
    assert all(len(set(row)) == 3 for row in nxt.reshape(-1, 3))  # distinct next states
    det = random_mdp(12, 3, branching=1, key=jax.random.key(2))
    T = np.asarray(det.mdp.dense_transition())
    assert set(np.unique(T)) == {0.0, 1.0}


def test_cliff_world_optimal_value_closed_form():
    from jaxirl.metrics import optimal_policy, policy_value

    gamma = 0.9
    p = cliff_world(12, 4, discount=gamma)
    _check_valid(p)
    same = cliff_world(12, 4, discount=gamma, step_reward=np.float32(-1), cliff_reward=np.int64(-100))  # NumPy scalars
    np.testing.assert_array_equal(np.asarray(same.reward), np.asarray(p.reward))
    r = np.asarray(p.reward).reshape(4, 12)
    assert (r[3, 1:11] == -100).all() and r[3, 11] == 0 and (r[:3] == -1).all()
    T = np.asarray(p.mdp.dense_transition())
    assert (T[36 + 5, :, 36] == 1).all()  # any action in the cliff returns to the start
    # optimal: up, 11 x right, down = 13 decisions at -1 each, then the absorbing goal at 0.
    value = policy_value(p.mdp, optimal_policy(p.mdp, p.reward), p.reward)
    np.testing.assert_allclose(float(value), -(1 - gamma**13) / (1 - gamma), rtol=1e-4)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: gridworld(1), "size"),
        (lambda: gridworld(4, slip=1.5), "slip"),
        (lambda: gridworld(4, discount=1.0), "discount"),
        (lambda: gridworld(4, horizon=0), "horizon"),
        (lambda: gridworld(4, reward="nope"), "reward"),
        (lambda: gridworld(4, reward=np.full(16, np.nan)), "reward"),
        (lambda: gridworld(4, features="pixels"), "features"),
        (lambda: gridworld(4, reward="random"), "key"),
        (lambda: objectworld(4, 20, 2, key=jax.random.key(0)), "num_objects"),
        (lambda: objectworld(4, 3, 1, key=jax.random.key(0)), "num_colours"),
        (lambda: random_mdp(5, 2, branching=6, key=jax.random.key(0)), "branching"),
        (lambda: cliff_world(2, 4), "width"),
    ],
)
def test_bad_arguments_raise(call, field):
    with pytest.raises(ValueError, match=field):
        call()
