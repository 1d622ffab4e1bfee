"""Soft value iteration and visitation against brute-force enumeration and closed-form invariants."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl.tabular import TabularMDP, hard_value_iteration, soft_value_iteration, visitation


def random_mdp(seed, S=3, A=2, H=4, discount=1.0, sparse=False):
    rng = np.random.default_rng(seed)
    T = rng.dirichlet(np.ones(S), size=(S, A)).astype(np.float32)
    p0 = rng.dirichlet(np.ones(S)).astype(np.float32)
    mdp = TabularMDP(jnp.asarray(T), jnp.asarray(p0), discount, H)
    if sparse:
        idx = np.tile(np.arange(S, dtype=np.int32), (S, A, 1))
        mdp = TabularMDP(jnp.asarray(T), jnp.asarray(p0), discount, H, jnp.asarray(idx))
    return mdp, T, p0


def deterministic_mdp(seed, S=3, A=2, H=4, s0=0):
    rng = np.random.default_rng(seed)
    nxt = rng.integers(0, S, size=(S, A))
    T = np.zeros((S, A, S), np.float32)
    T[np.arange(S)[:, None], np.arange(A)[None], nxt] = 1.0
    p0 = np.eye(S, dtype=np.float32)[s0]
    return TabularMDP(jnp.asarray(T), jnp.asarray(p0), 1.0, H), T, p0


def enumerate_trajectories(T, s0, H):
    """All (states s_0..s_H, actions a_0..a_{H-1}) with positive dynamics probability from s0."""
    S, A, _ = T.shape
    for actions in itertools.product(range(A), repeat=H):
        for nexts in itertools.product(range(S), repeat=H):
            states = (s0,) + nexts
            p = np.prod([T[states[t], actions[t], states[t + 1]] for t in range(H)])
            if p > 0:
                yield states, actions, p


def reward_sas(r, S, A):
    if r.ndim == 1:
        return np.broadcast_to(r[:, None, None], (S, A, S))
    if r.ndim == 2:
        return np.broadcast_to(r[:, :, None], (S, A, S))
    return r


@pytest.mark.parametrize("reward_kind", ["s", "sa", "sas"])
@pytest.mark.parametrize("sparse", [False, True])
def test_deterministic_dynamics_match_trajectory_enumeration(reward_kind, sparse):
    """p(τ) ∝ p(τ | dynamics) exp(Σ_t r_t / α): marginals == visitation of soft VI's policy, α log Z == V[0]."""
    S, A, H, alpha = 3, 2, 4, 0.7
    r = np.random.default_rng(1).normal(size={"s": (S,), "sa": (S, A), "sas": (S, A, S)}[reward_kind])
    r = r.astype(np.float32)
    rs = reward_sas(r, S, A)
    for s0 in range(S):
        mdp, T, _ = deterministic_mdp(0, S, A, H, s0)
        if sparse:
            mdp = TabularMDP(mdp.transition, mdp.initial, 1.0, H, jnp.tile(jnp.arange(S, dtype=jnp.int32), (S, A, 1)))
        res = soft_value_iteration(mdp, jnp.asarray(r), alpha)
        vis = visitation(mdp, res.policy)
        marg, Z = np.zeros((H, S, A)), 0.0
        for states, actions, p in enumerate_trajectories(T, s0, H):
            w = p * np.exp(sum(rs[states[t], actions[t], states[t + 1]] for t in range(H)) / alpha)
            Z += w
            for t in range(H):
                marg[t, states[t], actions[t]] += w
        np.testing.assert_allclose(vis.state_action, marg / Z, atol=2e-5)
        np.testing.assert_allclose(alpha * np.log(Z), res.v[0, s0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sparse", [False, True])
def test_stochastic_dynamics_match_enumeration_under_soft_policy(sparse):
    """Stochastic T: soft VI is maximum *causal* entropy, so enumerate τ under π and check
    (i) marginals == visitation, (ii) E_π[Σ_t r_t − α log π(a_t|s_t)] == Σ_s p0(s) V[0](s),
    (iii) no deterministic perturbation of π scores higher (soft optimality)."""
    S, A, H, alpha = 3, 2, 4, 0.7
    mdp, T, p0 = random_mdp(0, S, A, H, sparse=sparse)
    r = np.random.default_rng(2).normal(size=(S, A, S)).astype(np.float32)
    res = soft_value_iteration(mdp, jnp.asarray(r), alpha)
    pi = np.asarray(res.policy, np.float64)

    def score(pi):
        marg, total = np.zeros((H, S, A)), 0.0
        for s0 in range(S):
            for states, actions, p in enumerate_trajectories(T.astype(np.float64), s0, H):
                prob = p0[s0] * p * np.prod([pi[t, states[t], actions[t]] for t in range(H)])
                ret = sum(r[states[t], actions[t], states[t + 1]] - alpha * np.log(pi[t, states[t], actions[t]])
                          for t in range(H))
                total += prob * ret
                for t in range(H):
                    marg[t, states[t], actions[t]] += prob
        return marg, total

    marg, total = score(pi)
    np.testing.assert_allclose(visitation(mdp, res.policy).state_action, marg, atol=2e-5)
    np.testing.assert_allclose(total, float(np.dot(p0, res.v[0])), rtol=1e-4)
    rng = np.random.default_rng(3)
    for _ in range(5):
        other = np.clip(pi + 0.05 * rng.normal(size=pi.shape), 1e-3, None)
        other /= other.sum(-1, keepdims=True)
        assert score(other)[1] < total


def test_finite_horizon_recursion_definition():
    S, A, H, gamma, alpha = 4, 3, 5, 0.9, 0.5
    mdp, T, _ = random_mdp(5, S, A, H, discount=gamma)
    r = np.random.default_rng(6).normal(size=(S, A)).astype(np.float32)
    res = soft_value_iteration(mdp, jnp.asarray(r), alpha)
    q, v, pi = map(np.asarray, (res.q, res.v, res.policy))
    np.testing.assert_allclose(q[H - 1], r, atol=1e-6)
    for t in range(H):
        np.testing.assert_allclose(v[t], alpha * np.log(np.exp(q[t] / alpha).sum(-1)), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(pi[t], np.exp((q[t] - v[t][:, None]) / alpha), rtol=1e-4, atol=1e-6)
    for t in range(H - 1):
        np.testing.assert_allclose(q[t], r + gamma * T @ v[t + 1], rtol=1e-5, atol=1e-5)


def test_invariants_policy_and_visitation_sums():
    S, A, H, gamma = 6, 3, 7, 0.9
    mdp, _, _ = random_mdp(7, S, A, H, discount=gamma)
    r = jax.random.normal(jax.random.PRNGKey(0), (S,))
    res = soft_value_iteration(mdp, r)
    np.testing.assert_allclose(res.policy.sum(-1), 1.0, atol=1e-5)
    vis = visitation(mdp, res.policy)
    assert vis.per_step.shape == (H + 1, S)
    np.testing.assert_allclose(vis.per_step.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vis.discounted.sum(), sum(gamma**t for t in range(H + 1)), rtol=1e-5)
    np.testing.assert_allclose(vis.state_action.sum(axis=(1, 2)), 1.0, atol=1e-5)


@pytest.mark.parametrize("sparse", [False, True])
def test_infinite_horizon_is_limit_of_finite(sparse):
    S, A, gamma = 5, 3, 0.8
    mdp, T, p0 = random_mdp(8, S, A, None, discount=gamma, sparse=sparse)
    r = jax.random.normal(jax.random.PRNGKey(1), (S, A))
    inf = soft_value_iteration(mdp, r, tol=1e-7)
    np.testing.assert_allclose(inf.policy.sum(-1), 1.0, atol=1e-5)
    H = 120
    fin_mdp = TabularMDP(mdp.transition, mdp.initial, gamma, H, mdp.next_states)
    fin = soft_value_iteration(fin_mdp, r)
    np.testing.assert_allclose(fin.v[0], inf.v, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fin.policy[0], inf.policy, atol=1e-5)
    # Visitation: the solve / iteration equals the long finite discounted sum, and sums to 1 / (1 − γ).
    vis = visitation(mdp, inf.policy)
    np.testing.assert_allclose(vis.discounted.sum(), 1 / (1 - gamma), rtol=1e-4)
    fin_vis = visitation(fin_mdp, inf.policy)
    np.testing.assert_allclose(fin_vis.discounted, vis.discounted, rtol=1e-4, atol=1e-5)
    # Fixed point of the soft Bellman backup.
    q = np.asarray(r) + gamma * np.einsum("san,n->sa", T, np.asarray(inf.v))
    np.testing.assert_allclose(inf.q, q, rtol=1e-5, atol=1e-5)


def test_sparse_iterative_visitation_equals_dense_solve():
    S, A, gamma = 6, 2, 0.95
    mdp, T, p0 = random_mdp(9, S, A, None, discount=gamma)
    _, _, _ = random_mdp(9, S, A, None, discount=gamma, sparse=True)
    pi = jax.nn.softmax(jax.random.normal(jax.random.PRNGKey(2), (S, A)))
    dense = visitation(mdp, pi)
    iterative = visitation(mdp, pi, solve_max_states=0)
    np.testing.assert_allclose(iterative.discounted, dense.discounted, rtol=1e-4)


@pytest.mark.parametrize("horizon", [6, None])
def test_zero_temperature_limit_is_hard_optimum(horizon):
    S, A = 5, 3
    mdp, _, _ = random_mdp(10, S, A, horizon, discount=0.9)
    r = jax.random.normal(jax.random.PRNGKey(3), (S, A))
    v_hard, q_hard = hard_value_iteration(mdp, r)
    soft = soft_value_iteration(mdp, r, 1e-3)
    np.testing.assert_allclose(soft.v, v_hard, atol=1e-2)
    greedy = np.asarray(q_hard).argmax(-1)
    np.testing.assert_array_equal(np.asarray(soft.policy).argmax(-1), greedy)
    assert np.all(np.asarray(soft.policy).max(-1) > 0.99)


def test_vmap_over_temperature_and_discount_is_traced():
    S, A = 4, 2
    mdp, _, _ = random_mdp(11, S, A, None, discount=0.9)
    r = jax.random.normal(jax.random.PRNGKey(4), (S,))

    def solve(alpha, gamma):
        m = mdp.replace(discount=gamma)
        return soft_value_iteration(m, r, alpha).v

    alphas, gammas = jnp.array([0.5, 1.0, 2.0]), jnp.array([0.5, 0.8, 0.9])
    batched = jax.jit(jax.vmap(solve))(alphas, gammas)
    for i in range(3):
        np.testing.assert_allclose(batched[i], solve(float(alphas[i]), float(gammas[i])), rtol=1e-5, atol=1e-5)


def test_bad_inputs_raise_clear_errors():
    T = np.full((3, 2, 3), 1 / 3, np.float32)
    p0 = np.full(3, 1 / 3, np.float32)
    with pytest.raises(ValueError, match="sum to 1"):
        TabularMDP(jnp.asarray(T * 1.5), jnp.asarray(p0), 0.9, 4)
    bad = T.copy(); bad[0, 0] = [1.5, -0.5, 0.0]
    with pytest.raises(ValueError, match="non-negative"):
        TabularMDP(jnp.asarray(bad), jnp.asarray(p0), 0.9, 4)
    with pytest.raises(ValueError, match="initial"):
        TabularMDP(jnp.asarray(T), jnp.asarray(np.full(4, 0.25, np.float32)), 0.9, 4)
    with pytest.raises(ValueError, match="transition"):
        TabularMDP(jnp.asarray(np.full((3, 2, 4), 0.25, np.float32)), jnp.asarray(p0), 0.9, 4)
    nan = T.copy(); nan[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TabularMDP(jnp.asarray(nan), jnp.asarray(p0), 0.9, 4)
    with pytest.raises(ValueError, match="discount"):
        TabularMDP(jnp.asarray(T), jnp.asarray(p0), 1.0, None)
    # NumPy scalars are no Python floats: np.float32(1.5) once skipped the check (visitation -0.5, -1.5)
    for bad_discount, horizon in ((np.float32(1.5), None), (np.float32(1.0), None), (np.float32(np.nan), 4),
                                  (np.float16(-0.5), 4), ("0.9", 4), (True, 4)):
        with pytest.raises(ValueError, match="discount"):
            TabularMDP(jnp.asarray(T), jnp.asarray(p0), bad_discount, horizon)
    with pytest.raises(ValueError, match="discount"):
        TabularMDP(jnp.asarray(T), jnp.asarray(p0), 0.9, None).replace(discount=np.float64(1.2))
    with pytest.raises(ValueError, match="horizon"):
        TabularMDP(jnp.asarray(T), jnp.asarray(p0), 0.9, True)
    assert float(TabularMDP(jnp.asarray(T), jnp.asarray(p0), np.float32(0.5), None).discount) == 0.5
    with pytest.raises(ValueError, match="next_states"):
        TabularMDP(jnp.asarray(T), jnp.asarray(p0), 0.9, 4, jnp.full((3, 2, 3), 7, jnp.int32))
    mdp = TabularMDP(jnp.asarray(T), jnp.asarray(p0), 0.9, 4)
    with pytest.raises(ValueError, match="reward"):
        soft_value_iteration(mdp, jnp.zeros((5,)))
    with pytest.raises(ValueError, match="NaN"):
        soft_value_iteration(mdp, jnp.array([0.0, jnp.nan, 1.0]))
    for bad_temperature in (0.0, np.float32(0.0), jnp.float32(-1.0), float("nan"), True):
        with pytest.raises(ValueError, match="temperature"):
            soft_value_iteration(mdp, jnp.zeros(3), bad_temperature)
    # plain Python sequences are arrays too, and validated (a list once skipped every check)
    with pytest.raises(ValueError, match="sum to 1"):
        TabularMDP(jnp.asarray(T * 1.5), p0.tolist(), 0.9, 4)
    with pytest.raises(ValueError, match="sum to 1"):
        TabularMDP((T * 1.5).tolist(), p0.tolist(), 0.9, 4)
    with pytest.raises(ValueError, match="initial"):
        TabularMDP(jnp.asarray(T), (0.7, 0.7, 0.7), 0.9, 4)
    listed = TabularMDP(T.tolist(), p0.tolist(), 0.9, 4)
    np.testing.assert_allclose(soft_value_iteration(listed, jnp.arange(3.0)).v,
                               soft_value_iteration(mdp, jnp.arange(3.0)).v)
    with pytest.raises(ValueError, match="policy"):
        visitation(mdp, jnp.full((4, 3, 5), 0.2))
    for bad_pi in (jnp.full((3, 2), 1.25), jnp.full((3, 2), jnp.nan), jnp.array([[1.5, -0.5]] * 3)):
        with pytest.raises(ValueError, match="policy: every row must be a probability distribution"):
            visitation(mdp, bad_pi)
    assert float(visitation(mdp, jnp.full((3, 2), 0.5)).discounted.sum()) > 0  # a stationary policy is fine
    visitation(mdp, jnp.full((3, 2), 0.5) + jnp.array([2e-4, 0.0]))  # rounding (e.g. to 4 decimals) is accepted


def test_stacked_mdps_validate_and_vmap():
    mdps = [random_mdp(20 + i, 4, 2, None, discount=0.9)[0] for i in range(3)]
    stacked = TabularMDP(jnp.stack([m.transition for m in mdps]), jnp.stack([m.initial for m in mdps]),
                         jnp.array([0.9, 0.8, 0.7]), None)
    r = jax.random.normal(jax.random.PRNGKey(5), (4,))
    batched = jax.vmap(lambda m: soft_value_iteration(m, r).v)(stacked)
    for i, m in enumerate(mdps):
        np.testing.assert_allclose(batched[i], soft_value_iteration(m.replace(discount=[0.9, 0.8, 0.7][i]), r).v,
                                   rtol=1e-5, atol=1e-5)
    bad = np.array(stacked.transition); bad[1, 0, 0] *= 2
    with pytest.raises(ValueError, match=r"T\[1, 0, 0, :\]"):
        TabularMDP(jnp.asarray(bad), stacked.initial, 0.9, None)


def test_shared_successor_sets_are_detected_and_give_the_dense_results():
    """Gridworlds draw every action's outcome from the same K neighbours: the sparse operators then
    gather/scatter per (s, k) only. Both must equal the dense form, through jit and vmap, and MDPs whose
    successors depend on the action must keep the general path."""
    from jaxirl.tabular.builders import gridworld
    from jaxirl.tabular.mdp import backup_operator, forward_operator

    grid = gridworld(5, slip=0.2, discount=0.9).mdp
    assert grid.shared_successors is True
    S, A, K = grid.transition.shape
    rng = np.random.default_rng(0)
    nxt = rng.integers(0, S, (S, A, K))
    nxt[:, 1, 0] = (nxt[:, 0, 0] + 1) % S                      # action 1 differs from action 0
    general = TabularMDP(grid.transition, grid.initial, 0.9, None, jnp.asarray(nxt, jnp.int32))
    assert general.shared_successors is False
    dense_mdp = TabularMDP(grid.dense_transition(), grid.initial, 0.9)
    assert dense_mdp.shared_successors is None
    assert grid.replace(next_states=general.next_states).shared_successors is False   # recomputed, not kept

    v = jnp.asarray(rng.normal(size=S), jnp.float32)
    d_sa = jnp.asarray(rng.random((S, A)), jnp.float32)
    for mdp in (grid, general):
        dense = mdp.dense_transition()
        for layout, expected in (("sa", jnp.einsum("san,n->sa", dense, v)), ("as", jnp.einsum("san,n->as", dense, v))):
            np.testing.assert_allclose(jax.jit(lambda m, x: backup_operator(m, layout)(x))(mdp, v), expected,
                                       rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(jax.jit(lambda m, x: forward_operator(m)(x))(mdp, d_sa),
                                   jnp.einsum("sa,san->n", d_sa, dense), rtol=1e-5, atol=1e-5)

    reward = jnp.asarray(rng.normal(size=S), jnp.float32)
    res_sparse = soft_value_iteration(grid, reward)
    res_dense = soft_value_iteration(dense_mdp, reward)
    np.testing.assert_allclose(res_sparse.v, res_dense.v, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(visitation(grid, res_sparse.policy, solve_max_states=0).discounted,
                               visitation(dense_mdp, res_dense.policy).discounted, rtol=1e-4, atol=1e-5)
    # next_states replaced inside jit (traced): the flag is reset to unknown, not kept from the old arrays
    jitted = jax.jit(lambda p, n: soft_value_iteration(grid.replace(transition=p, next_states=n), reward).v)
    np.testing.assert_allclose(jitted(general.transition, general.next_states),
                               soft_value_iteration(general, reward).v, rtol=1e-5, atol=1e-5)
    # vmap over discounts keeps the (static) flag
    vs = jax.vmap(lambda g: soft_value_iteration(grid.replace(discount=g), reward).v)(jnp.array([0.5, 0.9]))
    np.testing.assert_allclose(vs[1], res_dense.v, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sparse", [False, True])
def test_infinite_horizon_derivatives_by_the_implicit_function_theorem(sparse):
    """``jax.grad`` through the infinite-horizon fixed point (a while loop JAX cannot reverse): the gradient of
    ``p0 · V*`` in a state reward is the discounted state visitation of the soft-optimal policy (Ziebart 2010),
    and its derivatives in the temperature and the discount match central differences; forward mode agrees and
    a vmap over temperatures works."""
    from jaxirl.tabular import gridworld

    p = gridworld(5, discount=0.9, slip=0.1)
    mdp = p.mdp if sparse else p.mdp.replace(transition=p.mdp.dense_transition(), next_states=None)

    def value(r, alpha=1.0, gamma=0.9):
        m = mdp.replace(discount=jnp.asarray(gamma, jnp.float32))
        return jnp.dot(m.initial, soft_value_iteration(m, r, alpha, tol=1e-7).v)

    r = p.reward
    grad = jax.grad(value)(r)
    d = visitation(mdp, soft_value_iteration(mdp, r).policy).discounted_state_action.sum(-1)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(d), atol=1e-4 * float(jnp.max(d)))
    np.testing.assert_allclose(np.asarray(jax.jacfwd(value)(r)), np.asarray(grad), atol=1e-5 * float(jnp.max(d)))
    for argnum, x, eps in ((1, 1.0, 1e-2), (2, 0.9, 1e-3)):
        args = [r, 1.0, 0.9]
        g = float(jax.grad(value, argnums=argnum)(*args))
        hi, lo = list(args), list(args)
        hi[argnum], lo[argnum] = x + eps, x - eps
        fd = float(value(*hi) - value(*lo)) / (2 * eps)
        assert abs(g - fd) <= 2e-3 * abs(fd), (argnum, g, fd)
    # the tangent solve stops relative to its solution: a tiny cotangent scales the gradient, no more
    for c in (1e-3, 1e-5):
        np.testing.assert_allclose(np.asarray(jax.grad(lambda rr: c * value(rr))(r)) / c, np.asarray(grad),
                                   rtol=1e-3, atol=1e-4 * float(jnp.max(d)))
    alphas = jnp.array([0.5, 1.0, 2.0])
    swept = jax.jit(jax.vmap(jax.grad(value, argnums=1), in_axes=(None, 0)))(r, alphas)
    assert np.allclose(np.asarray(swept[1]), float(jax.grad(value, argnums=1)(r, 1.0)), rtol=1e-5)


def test_infinite_horizon_soft_policy_is_invariant_to_scaling_reward_and_temperature_together():
    """``(c r, c α)`` has ``(r, α)``'s soft-optimal policy. The stopping rule is relative (``tol · max|V|``); as
    ``tol · (1 + max|V|)`` it was absolute for small values and stopped c = 1e-6 after one backup (policy error 0.9)."""
    from jaxirl.tabular.builders import gridworld

    p = gridworld(8, discount=0.9, slip=0.1, reward="random", key=jax.random.key(0))
    ref = soft_value_iteration(p.mdp, p.reward, 0.1)
    for c in (1e-8, 1e-6, 1e-3, 1e4):
        sol = soft_value_iteration(p.mdp, c * p.reward, 0.1 * c)
        assert float(jnp.max(jnp.abs(sol.policy - ref.policy))) < 1e-3, c
        assert int(sol.iterations) > 50, (c, int(sol.iterations))


def test_iteration_cap_follows_the_discount_so_a_long_horizon_converges():
    """With ``max_iter=None`` a known γ gets enough backups for its contraction (a fixed 10 000 stopped 37 % short of
    V at γ = 0.9999); the result is then within the documented ``γ/(1 − γ) · tol · max|V|`` of the fixed point."""
    from jaxirl.tabular.soft_vi import iteration_cap

    assert iteration_cap(0.9, 1e-6) == 10_000
    assert iteration_cap(0.9999, 1e-6) == int(np.ceil(2 * np.log(1e6) / 1e-4))
    assert iteration_cap(0.9999, 1e-6, 50) == 50
    # a traced γ (inside a jitted algorithm, under vmap) gets the same bound, as a traced count; at most 10^7
    traced = jax.jit(lambda g: iteration_cap(g, 1e-6))
    assert abs(int(traced(0.9999)) - iteration_cap(0.9999, 1e-6)) < 100 and int(traced(0.5)) == 10_000
    assert int(traced(1.0)) == 10_000_000
    with pytest.raises(ValueError, match="max_iter: expected a positive int or None"):
        iteration_cap(0.9, 1e-6, 0)
    rng = np.random.default_rng(0)
    T = rng.dirichlet(np.ones(3), size=(3, 2))
    R = rng.normal(size=(3, 2))
    gamma, tol = 0.9999, 1e-6
    mdp = TabularMDP(jnp.asarray(T, jnp.float32), jnp.full(3, 1 / 3, jnp.float32), gamma)
    sol = soft_value_iteration(mdp, jnp.asarray(R, jnp.float32), tol=tol)
    V = np.zeros(3)  # float64 reference: 200 000 backups leave e^-20 of the initial error
    for _ in range(200_000):
        Q = R + gamma * T @ V
        V = Q.max(1) + np.log(np.exp(Q - Q.max(1, keepdims=True)).sum(1))
    assert int(sol.iterations) < iteration_cap(gamma, tol)
    bound = gamma / (1 - gamma) * tol * np.abs(V).max()
    assert np.abs(np.asarray(sol.v) - V).max() <= 1.5 * bound  # (float32 rounding of 1.3e4-sized values on top)
    assert np.abs(np.asarray(sol.v) - V).max() < 0.02 * np.abs(V).max()
    short = soft_value_iteration(mdp, jnp.asarray(R, jnp.float32), tol=tol, max_iter=10_000)
    assert int(short.iterations) == 10_000 and np.abs(np.asarray(short.v) - V).max() > 0.3 * np.abs(V).max()


def test_jitted_algorithms_and_visitation_get_the_discounts_cap():
    """The cap follows a traced γ too: MaxEnt IRL (one jitted program, its MDP an argument) at γ = 0.9999 starts
    from the loss ``maxent_loss`` computes eagerly (it was 10 173 against 15 930: its solves stopped at 10 000), the
    sparse visitation at γ = 0.99999 has mass 1/(1 − γ) (it was 63 247 of 100 000 at a fixed 100 000 iterations),
    the soft-VI generator's default is the same rule; a discount that rounds to 1 in float32 is refused."""
    from jaxirl.rl.soft_vi import SoftVIConfig
    from jaxirl.tabular import gridworld
    from jaxirl.tabular.demos import sample_trajectories
    from jaxirl.tabular.maxent import expert_state_visitation, maxent_irl, maxent_loss

    p = gridworld(3, discount=0.9999, slip=0.1)
    demos = sample_trajectories(p.mdp, soft_value_iteration(p.mdp, p.reward).policy, jax.random.PRNGKey(0), 20, 30)
    res = maxent_irl(p.mdp, p.features, demos, jax.random.PRNGKey(1), num_steps=1, learning_rate=1e-9, model="tabular")
    mu_e = expert_state_visitation(p.mdp, demos)
    eager = float(maxent_loss(p.mdp, res.reward, mu_e))
    assert abs(float(res.loss[0]) - eager) < 1e-3 * abs(eager), (float(res.loss[0]), eager)
    q = gridworld(3, discount=0.99999)
    assert q.mdp.is_sparse
    pi = jnp.full((9, 5), 0.2)
    mass = float(visitation(q.mdp, pi, tol=1e-7).discounted.sum())  # (its relative tol bounds the rest: 1e-6 -> 9 %)
    assert abs(mass - 1e5) < 0.02 * 1e5, mass
    assert float(visitation(q.mdp, pi, tol=1e-7, max_iter=100_000).discounted.sum()) < 0.7e5  # the former fixed cap
    assert SoftVIConfig().max_iter is None and SoftVIConfig().validate().max_iter is None
    with pytest.raises(ValueError, match="rounds to 1 in the MDP's float32"):
        gridworld(3, discount=0.99999999)


# --- from a third mutation audit -------------------------------------------------------------------------------------

# M12 (tabular/mdp.py): a transition row summing to LESS than 1 is refused too (the existing test only tries 1.5)
def test_mdp_refuses_rows_that_sum_to_less_than_one():

    T = np.full((3, 2, 3), 1 / 3, np.float32)
    p0 = np.full(3, 1 / 3, np.float32)
    short = T.copy()
    short[2, 1] = [0.2, 0.2, 0.2]
    with pytest.raises(ValueError, match=r"sum to 1 .*T\[2, 1, :\] sums to 0.6"):
        TabularMDP(jnp.asarray(short), jnp.asarray(p0), 0.9, 4)
