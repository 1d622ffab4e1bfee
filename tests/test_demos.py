"""Demonstrations: empirical visitation converges to the exact forward messages; inputs are checked."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl.tabular.builders import gridworld, random_mdp
from jaxirl.tabular.demos import (
    empirical_initial, empirical_visitation, feature_expectations, sample_trajectories,
)
from jaxirl.tabular.mdp import TabularMDP
from jaxirl.tabular.soft_vi import soft_value_iteration
from jaxirl.tabular.visitation import visitation

N = 4000


@pytest.mark.parametrize("dense", [False, True])
def test_empirical_visitation_converges_time_indexed(dense):
    p = random_mdp(6, 3, branching=2, discount=1.0, horizon=5, key=jax.random.key(0))
    mdp = p.mdp
    if dense:
        mdp = TabularMDP(mdp.dense_transition(), mdp.initial, mdp.discount, mdp.horizon)
    policy = soft_value_iteration(mdp, 2.0 * p.reward).policy  # (H, S, A), time-varying
    traj = sample_trajectories(mdp, policy, jax.random.key(1), N)
    assert traj.states.shape == (N, 6) and traj.actions.shape == (N, 5)
    assert traj.states.dtype == jnp.int32 and traj.actions.dtype == jnp.int32
    exact = visitation(mdp, policy)
    emp = empirical_visitation(traj, 6, 3, per_step=True)
    np.testing.assert_allclose(emp.sum((1, 2)), 1.0, atol=1e-5)
    # Monte Carlo: standard error sqrt(p(1-p)/N) <= 0.008; allow ~5 sigma.
    np.testing.assert_allclose(emp, exact.state_action, atol=0.04)
    final = jnp.zeros(6).at[traj.states[:, -1]].add(1.0 / N)
    np.testing.assert_allclose(final, exact.per_step[-1], atol=0.04)
    np.testing.assert_allclose(empirical_initial(traj, 6), mdp.initial, atol=0.04)


def test_stationary_policy_discounted_counts_and_features():
    p = gridworld(3, slip=0.2, discount=0.8, horizon=6, features="coords")
    policy = jnp.full((9, 5), 0.2).at[:, 0].set(0.6).at[:, 1:].set(0.1)  # stationary (S, A)
    traj = sample_trajectories(p.mdp, policy, jax.random.key(2), N)
    exact = visitation(p.mdp, policy).discounted_state_action
    emp = empirical_visitation(traj, 9, 5, discount=0.8)
    np.testing.assert_allclose(emp.sum(), (1 - 0.8**6) / (1 - 0.8), rtol=1e-5)
    np.testing.assert_allclose(emp, exact, atol=0.05)
    mu = feature_expectations(traj, p.features, discount=0.8)
    np.testing.assert_allclose(mu, emp.sum(-1) @ p.features, rtol=1e-5)  # same statistic, two routes
    np.testing.assert_allclose(mu, exact.sum(-1) @ p.features, rtol=0.05)


def test_deterministic_given_key_and_infinite_horizon_length():
    p = gridworld(3, slip=0.1)  # infinite horizon
    policy = jnp.full((9, 5), 0.2)
    a = sample_trajectories(p.mdp, policy, jax.random.key(3), 7, length=11)
    b = sample_trajectories(p.mdp, policy, jax.random.key(3), 7, length=11)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.actions, b.actions)
    # consecutive states are consistent with the dynamics (non-zero transition probability)
    T = np.asarray(p.mdp.dense_transition())
    s, act, s2 = np.asarray(a.states[:, :-1]), np.asarray(a.actions), np.asarray(a.states[:, 1:])
    assert (T[s, act, s2] > 0).all()


def test_bad_inputs():
    p = gridworld(3)
    good = jnp.full((9, 5), 0.2)
    with pytest.raises(ValueError, match="length"):
        sample_trajectories(p.mdp, good, jax.random.key(0), 4)
    with pytest.raises(ValueError, match="num_trajectories"):
        sample_trajectories(p.mdp, good, jax.random.key(0), 0, length=3)
    with pytest.raises(ValueError, match="policy"):
        sample_trajectories(p.mdp, jnp.full((9, 4), 0.25), jax.random.key(0), 4, length=3)
    with pytest.raises(ValueError, match="policy"):
        sample_trajectories(p.mdp, good.at[0, 0].set(jnp.nan), jax.random.key(0), 4, length=3)
    with pytest.raises(ValueError, match="policy"):
        sample_trajectories(p.mdp, jnp.full((2, 9, 5), 0.2), jax.random.key(0), 4, length=3)
    traj = sample_trajectories(p.mdp, good, jax.random.key(0), 4, length=3)
    with pytest.raises(ValueError, match="features"):
        feature_expectations(traj, jnp.ones(9))
    with pytest.raises(ValueError, match="discount"):
        empirical_visitation(traj, 9, 5, discount=2.0)
    # indices beyond the given sizes are refused (JAX would clamp or drop them: wrong statistics, no error)
    bad = traj.replace(states=traj.states.at[0, 0].set(8))
    with pytest.raises(ValueError, match=r"traj.states: expected indices in \[0, 4\)"):
        feature_expectations(bad, jnp.ones((4, 2)))
    with pytest.raises(ValueError, match=r"traj.states: expected indices in \[0, 4\)"):
        empirical_visitation(bad, 4, 5)
    with pytest.raises(ValueError, match=r"traj.actions: expected indices in \[0, 3\)"):
        empirical_visitation(traj.replace(actions=traj.actions.at[0, 0].set(4)), 9, 3)
    with pytest.raises(ValueError, match=r"traj.states: expected indices in \[0, 4\)"):
        empirical_initial(bad.replace(states=bad.states.at[0, 0].set(6)), 4)  # JAX's add dropped it: sum < 1
    for discount in (jnp.float32(1.5), np.float64(-0.1), True):  # NumPy/JAX scalars are checked too
        with pytest.raises(ValueError, match="discount: expected a number in"):
            feature_expectations(traj, jnp.ones((9, 2)), discount)
    for discount in (0.9, jnp.float32(0.9), jnp.asarray(0.9)):  # a JAX scalar (mdp.discount) was ignored
        with pytest.raises(ValueError, match="discount: per_step=True returns undiscounted"):
            empirical_visitation(traj, 9, 5, per_step=True, discount=discount)
    np.testing.assert_array_equal(empirical_visitation(traj, 9, 5, per_step=True, discount=jnp.float32(1.0)),
                                  empirical_visitation(traj, 9, 5, per_step=True))
