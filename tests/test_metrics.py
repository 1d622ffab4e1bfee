"""Metrics: EVD against brute-force policy enumeration, EPIC invariances, Pearson, normalised score."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl.metrics import (
    epic_distance, expected_value_difference, greedy_policy, normalized_score, optimal_policy, pearson, policy_value,
)
from jaxirl.tabular.builders import gridworld, random_mdp


def _brute_force_best_value(mdp, reward):
    """Max over all deterministic stationary policies of p0ᵀ (I − γ P_π)⁻¹ r (infinite horizon)."""
    T = np.asarray(mdp.dense_transition(), np.float64)
    S, A = T.shape[:2]
    g, p0, r = float(mdp.discount), np.asarray(mdp.initial, np.float64), np.asarray(reward, np.float64)
    best = -np.inf
    for acts in itertools.product(range(A), repeat=S):
        P = T[np.arange(S), acts]
        best = max(best, p0 @ np.linalg.solve(np.eye(S) - g * P, r))
    return best


def test_optimal_value_matches_enumeration_and_evd_properties():
    p = random_mdp(5, 3, branching=2, discount=0.8, key=jax.random.key(0))
    pi = optimal_policy(p.mdp, p.reward)
    np.testing.assert_allclose(policy_value(p.mdp, pi, p.reward), _brute_force_best_value(p.mdp, p.reward), rtol=1e-4)
    r = p.reward
    assert abs(float(expected_value_difference(p.mdp, r, r))) < 1e-5
    assert abs(float(expected_value_difference(p.mdp, r, 3.0 * r + 2.0))) < 1e-5  # same optimal policy
    evd_neg = float(expected_value_difference(p.mdp, r, -r))
    worst = -_brute_force_best_value(p.mdp, -r)  # value of the policy minimising the true return
    np.testing.assert_allclose(evd_neg, _brute_force_best_value(p.mdp, r) - worst, rtol=1e-3)
    assert evd_neg > 0.1


def test_evd_finite_horizon_and_soft_policies():
    p = gridworld(4, discount=1.0, horizon=6)
    evd = expected_value_difference(p.mdp, p.reward, jnp.zeros(16))  # zero reward: uniform random policy
    assert float(evd) > 0.5
    assert abs(float(expected_value_difference(p.mdp, p.reward, p.reward, temperature=0.5))) < 1e-5


def test_evd_and_the_hard_optimal_policy_do_not_depend_on_the_rewards_scale():
    """A positive rescaling leaves the optimal policy unchanged: value iteration's stopping rule and the greedy tie
    tolerance are absolute for small values, so unscaled a 1e-6 · r stopped value iteration at once and tied every
    action (EVD 4.4 here instead of 0)."""
    p = gridworld(8, discount=0.9, slip=0.1, reward="random", key=jax.random.key(0))
    zero = float(expected_value_difference(p.mdp, p.reward, jnp.zeros(64)))
    for c in (1e-2, 1e-6, 1e3):
        assert abs(float(expected_value_difference(p.mdp, p.reward, c * p.reward))) < 1e-4 * zero, c
        np.testing.assert_array_equal(optimal_policy(p.mdp, c * p.reward), optimal_policy(p.mdp, p.reward))
    from jaxirl.tabular import hard_value_iteration
    v1 = hard_value_iteration(p.mdp, p.reward)[0]
    v_small = hard_value_iteration(p.mdp, 1e-6 * p.reward)[0]  # relative stop rule: it stopped after one sweep (85 %)
    assert float(jnp.max(jnp.abs(v_small / 1e-6 - v1)) / jnp.max(jnp.abs(v1))) < 1e-5
    # nor on its offset (every trajectory has the same length): 1 + 1e-4 · r lost nearly all the value (EVD 4.0)
    for shifted in (1.0 + 1e-4 * p.reward, p.reward + 1e4):
        assert abs(float(expected_value_difference(p.mdp, p.reward, shifted))) < 1e-4 * zero
    finite = gridworld(4, discount=1.0, horizon=6).mdp
    r = jax.random.normal(jax.random.key(1), (16,))
    np.testing.assert_array_equal(optimal_policy(finite, 1e-7 * r), optimal_policy(finite, r))
    np.testing.assert_allclose(optimal_policy(finite, jnp.zeros(16)), 1.0 / finite.num_actions)  # constant: uniform


def test_greedy_policy_splits_ties():
    q = jnp.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    np.testing.assert_allclose(greedy_policy(q), [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])


def test_pearson_closed_form():
    a = jnp.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(pearson(a, 2 * a + 1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(pearson(a, -a), -1.0, rtol=1e-6)
    np.testing.assert_allclose(pearson(a, jnp.array([1.0, -1.0, -1.0, 1.0])), 0.0, atol=1e-6)
    assert float(pearson(a, jnp.ones(4))) == 0.0
    with pytest.raises(ValueError, match="NaN"):
        pearson(a, a.at[0].set(jnp.nan))


def test_epic_invariant_to_shaping_and_scaling():
    S, A, gamma = 7, 3, 0.9
    k1, k2, k3 = jax.random.split(jax.random.key(1), 3)
    r = jax.random.normal(k1, (S, A, S))
    phi = 5.0 * jax.random.normal(k2, (S,))
    shaped = 2.5 * r + gamma * phi[None, None, :] - phi[:, None, None]
    assert float(epic_distance(r, shaped, gamma)) < 1e-3
    # non-uniform coverage distributions: still invariant
    ds = jax.nn.softmax(jax.random.normal(k3, (S,)))
    assert float(epic_distance(r, shaped, gamma, state_dist=ds, action_dist=jnp.array([0.2, 0.3, 0.5]))) < 1e-3
    np.testing.assert_allclose(epic_distance(r, -r, gamma), 1.0, atol=1e-5)
    unrelated = float(epic_distance(r, jax.random.normal(k3, (S, A, S)), gamma))
    assert 0.55 < unrelated < 0.85  # independent rewards: ρ ≈ 0, D ≈ 0.71
    # shaping with the wrong discount is not removed
    assert float(epic_distance(r, r + 0.5 * phi[None, None, :] - phi[:, None, None], gamma)) > 0.1
    # at any scale (Pearson's variance product, ∝ scale⁴, overflowed float32 past ~3e9 and underflowed below ~3e-10:
    # pearson 0 or NaN, EPIC 0.71, 0 or NaN)
    other = r + jax.random.normal(k3, (S, A, S))
    d1, p1 = float(epic_distance(r, other, gamma)), float(pearson(r, other))
    for c in (1e-30, 1e-10, 1e10, 1e30):
        np.testing.assert_allclose(float(epic_distance(c * r, c * other, gamma)), d1, rtol=1e-4, err_msg=str(c))
        np.testing.assert_allclose(float(pearson(c * r, c * other)), p1, rtol=1e-5, err_msg=str(c))
    with pytest.raises(ValueError, match="discount"):
        epic_distance(r, other, np.float32(1.5))


def test_epic_of_rewards_equivalent_to_zero():
    """A constant or a pure potential shaping canonicalises to 0 (float32 leaves ~1e-7 of noise, whose Pearson
    correlation was reported: EPIC(1, 1) = 0.71, between two shapings 0.76): 0 between two such rewards, 1/√2
    between one and any other."""
    S, A, gamma = 6, 2, 0.9
    k1, k2, k3 = jax.random.split(jax.random.key(2), 3)
    phi_a, phi_b = jax.random.normal(k1, (S,)), jax.random.normal(k2, (S,))
    shaping = lambda phi: jnp.broadcast_to(gamma * phi[None, None, :] - phi[:, None, None], (S, A, S))  # noqa: E731
    const = jnp.ones((S, A, S))
    r = jax.random.normal(k3, (S, A, S))
    for a, b in ((const, const), (shaping(phi_a), shaping(phi_b)), (shaping(phi_a), -shaping(phi_b)), (const, 3 * const)):
        assert float(epic_distance(a, b, gamma)) == 0.0
    for zero in (const, shaping(phi_a), jnp.zeros((S, A, S))):
        np.testing.assert_allclose(epic_distance(r, zero, gamma), np.sqrt(0.5), rtol=1e-6)
    # a real reward on a large offset is not mistaken for a constant (down to where float32 still resolves it)
    for small in (1e-2, 1e-3):
        assert float(epic_distance(1000.0 + small * r, r, gamma)) < 0.05, small


def test_epic_with_mdp_state_rewards():
    p = gridworld(3, discount=0.9)
    r = p.reward
    phi = jnp.arange(9.0)
    shaped = jnp.broadcast_to(r[:, None, None] + 0.9 * phi[None, None, :] - phi[:, None, None], (9, 5, 9))
    assert float(epic_distance(r, shaped, mdp=p.mdp)) < 1e-3
    with pytest.raises(ValueError, match="r2"):
        epic_distance(r, jnp.ones(5), mdp=p.mdp)
    with pytest.raises(ValueError, match="discount"):
        epic_distance(jnp.ones((3, 2, 3)), jnp.ones((3, 2, 3)))
    with pytest.raises(ValueError, match="state_dist"):
        epic_distance(r, r, mdp=p.mdp, state_dist=jnp.ones(9))
    # the MDP first, as expected_value_difference takes it: a message saying where it goes
    with pytest.raises(ValueError, match=r"takes the MDP as a keyword, mdp=\.\.\."):
        epic_distance(p.mdp, r, shaped)


def test_normalized_score():
    np.testing.assert_allclose(normalized_score(5.0, 1.0, 9.0), 0.5)
    np.testing.assert_allclose(normalized_score(jnp.array([1.0, 9.0]), 1.0, 9.0), [0.0, 1.0])
    with pytest.raises(ValueError, match="expert_ret"):
        normalized_score(1.0, 2.0, 2.0)


def test_epic_weights_the_correlation_by_the_coverage():
    """ρ is the coverage-weighted Pearson correlation of the canonicalised rewards (NumPy reference in float64):
    EPIC = sqrt((1 − ρ_w) / 2); a coverage that ignores half the triples changes the distance."""
    from jaxirl.metrics import canonicalize

    S, A, gamma = 4, 2, 0.9
    k1, k2, k3 = jax.random.split(jax.random.key(11), 3)
    r1 = jax.random.normal(k1, (S, A, S))
    r2 = r1.at[:, 1, :].add(3.0 * jax.random.normal(k2, (S, S)))  # r1 and r2 differ on action 1 only
    w = np.asarray(jax.random.uniform(k3, (S, A, S)), np.float64) ** 3  # far from uniform
    d_s, d_a = jnp.full(S, 1.0 / S), jnp.full(A, 1.0 / A)

    def reference(weights):
        c1 = np.asarray(canonicalize(r1, gamma, d_s, d_a), np.float64).ravel()
        c2 = np.asarray(canonicalize(r2, gamma, d_s, d_a), np.float64).ravel()
        q = weights.ravel() / weights.sum()
        c1, c2 = c1 - q @ c1, c2 - q @ c2
        rho = (q @ (c1 * c2)) / np.sqrt((q @ c1**2) * (q @ c2**2))
        return np.sqrt((1.0 - rho) / 2.0)

    uniform = float(epic_distance(r1, r2, gamma))
    np.testing.assert_allclose(uniform, reference(np.ones((S, A, S))), rtol=1e-4)
    np.testing.assert_allclose(float(epic_distance(r1, r2, gamma, coverage=w)), reference(w), rtol=1e-4)
    half = np.zeros((S, A, S))
    half[:, 0, :] = 1.0  # only action 0, where r1 = r2 (their canonical forms differ there only through m(s), m(s'))
    masked = float(epic_distance(r1, r2, gamma, coverage=half))
    np.testing.assert_allclose(masked, reference(half), rtol=1e-4)
    assert masked < uniform - 0.1 and abs(reference(w) - uniform) > 0.02, (masked, reference(w), uniform)


def test_policy_value_is_discounted_over_a_finite_horizon():
    """Finite horizon with γ < 1: policy_value = E_p0[Σ_{t<H} γ^t r(s_t, a_t)], = p0 · V_0 of hard value iteration
    for the optimal policy, and the NumPy backward recursion for a random time-varying policy (undiscounted it
    would be Σ_{t<H} of the rewards, larger here)."""
    from jaxirl.tabular import hard_value_iteration

    p = gridworld(3, slip=0.2, discount=0.9, horizon=6)
    r = jax.random.normal(jax.random.key(4), (9,)) + p.reward
    v0 = hard_value_iteration(p.mdp, r)[0][0]
    np.testing.assert_allclose(policy_value(p.mdp, optimal_policy(p.mdp, r), r), p.mdp.initial @ v0, rtol=1e-5)
    # brute force: V_t = Σ_a π_t(a|s) (r(s) + γ Σ_s' T(s'|s, a) V_{t+1}(s')), V_H = 0, for a random π_t
    T = np.asarray(p.mdp.dense_transition(), np.float64)
    pis = np.asarray(jax.nn.softmax(jax.random.normal(jax.random.key(5), (6, 9, 5))), np.float64)
    rn = np.asarray(r, np.float64)
    v = np.zeros(9)
    for t in reversed(range(6)):
        v = np.einsum("sa,sa->s", pis[t], rn[:, None] + 0.9 * T @ v)
    np.testing.assert_allclose(policy_value(p.mdp, jnp.asarray(pis, jnp.float32), r), np.asarray(p.mdp.initial) @ v,
                               rtol=1e-5, atol=1e-5)


# --- from a third mutation audit -------------------------------------------------------------------------------------

# M2 (metrics.py): an expert return equal to the random one anywhere in an array is refused, not only everywhere
def test_normalized_score_refuses_any_equal_pair_of_an_array_normaliser():
    from jaxirl.metrics import normalized_score

    with pytest.raises(ValueError, match="expert_ret"):
        normalized_score(1.0, jnp.array([0.0, 2.0]), jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(normalized_score(1.0, jnp.array([0.0, 2.0]), jnp.array([2.0, 4.0])), [0.5, -0.5])
