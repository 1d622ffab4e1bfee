"""MaxEnt IRL (Ziebart et al. 2008): exact gradient, learning thresholds, vmap and determinism."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl.metrics import expected_value_difference, pearson
from jaxirl.tabular.builders import gridworld
from jaxirl.tabular.demos import empirical_initial, sample_trajectories
from jaxirl.tabular.maxent import expert_state_visitation, maxent_irl, maxent_irl_sampled, maxent_loss
from jaxirl.tabular.mdp import TabularMDP
from jaxirl.tabular.soft_vi import soft_value_iteration
from jaxirl.tabular.visitation import visitation

S = 25


@pytest.fixture(scope="module")
def setup():
    """5x5 deterministic grid, H = 12, three random reward cells; 500 soft-optimal demonstrations."""
    p = gridworld(5, discount=1.0, horizon=12, reward="random", num_reward_cells=3, key=jax.random.key(7))
    expert = soft_value_iteration(p.mdp, 3.0 * p.reward).policy
    demos = sample_trajectories(p.mdp, expert, jax.random.key(0), 500)
    mdp = p.mdp.replace(initial=empirical_initial(demos, S))  # start states of the demos
    zero_evd = float(expected_value_difference(p.mdp, p.reward, jnp.zeros(S)))
    return p, mdp, demos, zero_evd


def test_gradient_of_log_likelihood_is_visitation_difference(setup):
    p, mdp, demos, _ = setup
    reward = jax.random.normal(jax.random.key(3), (S,))

    def log_likelihood(r):  # mean over demos of Σ_t r(s_t), minus log Z = p0·V_0 (α = 1)
        return jnp.mean(jnp.sum(r[demos.states[:, :-1]], axis=1)) - mdp.initial @ soft_value_iteration(mdp, r).v[0]

    grad = jax.grad(log_likelihood)(reward)
    mu_e = expert_state_visitation(mdp, demos)
    mu_pi = visitation(mdp, soft_value_iteration(mdp, reward).policy).discounted_state_action.sum(-1)
    np.testing.assert_allclose(grad, mu_e - mu_pi, rtol=1e-4, atol=1e-4)  # float32
    np.testing.assert_allclose(maxent_loss(mdp, reward, mu_e), -log_likelihood(reward), rtol=1e-6)
    np.testing.assert_allclose(mu_e.sum(), 12.0, rtol=1e-6)


def test_linear_maxent_recovers_reward(setup):
    p, mdp, demos, zero_evd = setup
    res = maxent_irl(mdp, p.features, demos, jax.random.key(1), num_steps=150, learning_rate=0.1, log_every=50)
    assert res.loss.shape == (150,) and res.grad_norm.shape == (150,) and res.reward_history.shape == (3, S)
    np.testing.assert_allclose(res.reward_history[-1], res.reward)
    np.testing.assert_allclose(res.loss[0], maxent_loss(mdp, jnp.zeros(S), expert_state_visitation(mdp, demos)), rtol=1e-6)
    assert float(res.loss[-1]) < float(res.loss[0]) - 5.0
    assert float(res.grad_norm[-1]) < 0.1 * float(res.grad_norm[0])
    # thresholds: EVD at most 5% of the zero reward's (a random policy), correlation > 0.9
    assert float(expected_value_difference(p.mdp, p.reward, res.reward)) <= 0.05 * zero_evd
    assert float(pearson(p.reward, res.reward)) > 0.9


def test_mlp_and_sampled_maxent_improve(setup):
    p, mdp, demos, zero_evd = setup
    mlp = maxent_irl(mdp, p.features, demos, jax.random.key(1), model="mlp", hidden=(32,), num_steps=150,
                     learning_rate=0.03)
    assert float(expected_value_difference(p.mdp, p.reward, mlp.reward)) <= 0.05 * zero_evd
    assert float(pearson(p.reward, mlp.reward)) > 0.9
    sampled = maxent_irl_sampled(mdp, p.features, demos, jax.random.key(1), num_samples=100, num_steps=150,
                                 learning_rate=0.3)
    assert float(sampled.loss[-1]) < float(sampled.loss[0]) - 5.0
    assert float(expected_value_difference(p.mdp, p.reward, sampled.reward)) <= 0.1 * zero_evd
    assert float(pearson(p.reward, sampled.reward)) > 0.8


def test_vmap_over_seeds_and_learning_rates_equals_loop(setup):
    p, mdp, demos, _ = setup
    mu_e = expert_state_visitation(mdp, demos)

    def sampled(key):  # the key drives the trajectory sampling
        return maxent_irl_sampled(mdp, p.features, mu_e, key, num_samples=16, num_steps=5, learning_rate=0.1).reward

    keys = jax.random.split(jax.random.key(5), 8)
    batched = jax.vmap(sampled)(keys)
    np.testing.assert_allclose(batched, jnp.stack([sampled(k) for k in keys]), rtol=1e-5, atol=1e-6)
    assert float(jnp.max(jnp.std(batched, axis=0))) > 0  # seeds matter
    np.testing.assert_array_equal(batched, jax.vmap(sampled)(keys))  # identical run to run

    def linear(lr):
        return maxent_irl(mdp, p.features, mu_e, keys[0], num_steps=5, learning_rate=lr).reward

    lrs = jnp.array([0.001, 0.01, 0.1])
    np.testing.assert_allclose(jax.vmap(linear)(lrs), jnp.stack([linear(lr) for lr in lrs]), rtol=1e-5, atol=1e-6)


def test_vmap_over_mdps_equals_loop():
    p = gridworld(3, discount=0.9, horizon=5)
    transitions = jnp.stack([gridworld(3, slip=s, discount=0.9, horizon=5).mdp.transition for s in (0.0, 0.2)])

    def run(transition):  # build the MDP inside: a stacked concrete TabularMDP would fail validation
        mdp = p.mdp.replace(transition=transition)
        mu = visitation(mdp, soft_value_iteration(mdp, 2.0 * p.reward).policy).discounted_state_action
        return maxent_irl(mdp, p.features, mu, jax.random.key(0), num_steps=5).reward

    batched = jax.vmap(run)(transitions)
    looped = jnp.stack([run(t) for t in transitions])
    np.testing.assert_allclose(batched, looped, rtol=1e-5, atol=1e-6)
    assert float(jnp.max(jnp.abs(looped[0] - looped[1]))) > 1e-3  # the two MDPs give different results


def test_infinite_horizon_with_exact_expert_visitation():
    p = gridworld(4, slip=0.1, discount=0.8)
    expert = soft_value_iteration(p.mdp, 2.0 * p.reward).policy
    mu_e = visitation(p.mdp, expert).discounted_state_action  # (S, A) is accepted
    res = maxent_irl(p.mdp, p.features, mu_e, jax.random.key(0), num_steps=200, learning_rate=0.1)
    mu_pi = visitation(p.mdp, soft_value_iteration(p.mdp, res.reward).policy).discounted
    np.testing.assert_allclose(mu_pi, mu_e.sum(-1), atol=0.02 * float(mu_e.sum()) / 16)  # visitations match
    assert float(expected_value_difference(p.mdp, p.reward, res.reward)) < 1e-4


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(model="gp"), "model"),
        (dict(num_steps=0), "num_steps"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(temperature=0.0), "temperature"),
        (dict(log_every=7, num_steps=10), "log_every"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(hidden=(0,)), "hidden"),
        (dict(l2=-1.0), "l2"),
    ],
)
def test_bad_inputs(setup, kwargs, field):
    p, mdp, demos, _ = setup
    with pytest.raises(ValueError, match=field):
        maxent_irl(mdp, p.features, demos, jax.random.key(0), **kwargs)


def test_bad_expert_and_features(setup):
    p, mdp, demos, _ = setup
    with pytest.raises(ValueError, match="features"):
        maxent_irl(mdp, p.features[:, :3][:4], demos, jax.random.key(0))
    with pytest.raises(ValueError, match="expert"):
        maxent_irl(mdp, p.features, jnp.ones(7), jax.random.key(0))
    with pytest.raises(ValueError, match="expert"):
        maxent_irl(mdp, p.features, jnp.full(S, jnp.nan), jax.random.key(0))
    short = sample_trajectories(mdp, jnp.full((S, 5), 0.2), jax.random.key(0), 3, length=4)
    with pytest.raises(ValueError, match="horizon"):
        maxent_irl(mdp, p.features, short, jax.random.key(0))
    with pytest.raises(ValueError, match="num_samples"):
        maxent_irl_sampled(mdp, p.features, demos, jax.random.key(0), num_samples=0)
    for l2 in (-1.0, np.float32(-1.0), jnp.asarray(-1.0), float("nan")):  # NumPy/JAX scalars are checked too
        with pytest.raises(ValueError, match="l2: expected a non-negative number"):
            maxent_irl(mdp, p.features, demos, jax.random.key(0), l2=l2)


def test_a_given_expert_visitation_needs_the_exact_visitations_mass():
    """A visitation of another total mass (e.g. undiscounted counts in an infinite-horizon MDP) gives a loss with
    no minimum; it is refused, naming the mass needed."""
    p = gridworld(4, slip=0.1, discount=0.8)
    mu = visitation(p.mdp, soft_value_iteration(p.mdp, p.reward).policy).discounted  # mass 1/(1 - 0.8) = 5
    assert float(mu.sum()) == pytest.approx(5.0, rel=1e-5)
    assert expert_state_visitation(p.mdp, mu).shape == (16,)
    for wrong in (mu / 5.0, mu * 10.0):
        with pytest.raises(ValueError, match=r"expert: a visitation of total mass .*MaxEnt needs the exact .*5 "):
            maxent_irl(p.mdp, p.features, wrong, jax.random.key(0), num_steps=1)
    finite = gridworld(4, slip=0.1, discount=0.9, horizon=6)
    mu_h = visitation(finite.mdp, soft_value_iteration(finite.mdp, finite.reward).policy).discounted_state_action
    assert float(mu_h.sum()) == pytest.approx(sum(0.9**t for t in range(6)), rel=1e-5)
    expert_state_visitation(finite.mdp, mu_h)
    with pytest.raises(ValueError, match="horizon 6"):
        expert_state_visitation(finite.mdp, mu_h * 2)
    # a Python-number discount is checked too; near gamma = 1 the iterated visitation's own error is allowed
    plain = TabularMDP(p.mdp.dense_transition(), p.mdp.initial, 0.8)
    with pytest.raises(ValueError, match="total mass"):
        expert_state_visitation(plain, mu / 5.0)
    far = gridworld(20, slip=0.1, discount=0.999)
    mu_far = visitation(far.mdp, soft_value_iteration(far.mdp, far.reward).policy).discounted_state_action.sum(-1)
    expert_state_visitation(far.mdp, mu_far)  # ~1e-3 short of 1000 (the iteration's tolerance)
    with pytest.raises(ValueError, match="total mass"):
        expert_state_visitation(far.mdp, mu_far / 1000.0)


def test_truncated_expert_trajectories_are_rescaled_to_the_infinite_horizon_mass():
    """Infinite horizon: trajectories of any length L give a visitation of the exact one's mass 1/(1 − γ) (the
    truncated counts Σ_{t<L} γ^t, mass (1 − γ^L)/(1 − γ), are divided by 1 − γ^L); without the rescaling the
    mass is 3.36 instead of 5 at γ = 0.8, L = 5 (and refused as a given visitation)."""
    p = gridworld(3, slip=0.1, discount=0.8)
    policy = soft_value_iteration(p.mdp, 2.0 * p.reward).policy
    gamma = 0.8
    for L in (1, 5):
        traj = sample_trajectories(p.mdp, policy, jax.random.key(L), 40, length=L)
        mu = expert_state_visitation(p.mdp, traj)
        np.testing.assert_allclose(float(mu.sum()), 1.0 / (1.0 - gamma), rtol=1e-5)
        # brute force: NumPy counts Σ_n Σ_{t<L} γ^t [s_t^n = s] / N, rescaled by 1/(1 − γ^L)
        states = np.asarray(traj.states[:, :-1])
        ref = np.zeros(9)
        for n, t in itertools.product(range(states.shape[0]), range(L)):
            ref[states[n, t]] += gamma**t
        ref /= states.shape[0] * (1.0 - gamma**L)
        np.testing.assert_allclose(mu, ref, rtol=1e-5, atol=1e-6)


def test_sampled_infinite_horizon_learner_visitation_has_the_exact_mass():
    """One SGD step (learning rate 1) from the zero tabular reward is r = −(μ̂_π − μ_E): with μ̂_π rescaled to the
    exact mass 1/(1 − γ) = 5 like μ_E, Σ_s r(s) = 0 whatever was sampled; left truncated (L = 5: mass 3.36) it
    would be 1.64."""
    p = gridworld(3, discount=0.8)
    mu_e = visitation(p.mdp, soft_value_iteration(p.mdp, 2.0 * p.reward).policy).discounted
    assert float(mu_e.sum()) == pytest.approx(5.0, rel=1e-5)
    for length in (1, 5):
        res = maxent_irl_sampled(p.mdp, p.features, mu_e, jax.random.key(length), model="tabular", optimizer="sgd",
                                 learning_rate=1.0, num_steps=1, num_samples=8, sample_length=length)
        assert abs(float(res.reward.sum())) < 1e-4, (length, float(res.reward.sum()))
        # μ̂_π = μ_E − r is a non-negative visitation, supported on sampled states (not all of μ_E's)
        mu_pi = np.asarray(mu_e - res.reward)
        assert np.all(mu_pi >= -1e-5) and float(np.abs(res.reward).max()) > 0.1


def test_l2_regularised_maxent_reaches_the_stationary_point_of_the_regularised_loss():
    """With l2 > 0 the result minimises loss(r) + (l2/2)‖r‖² (strongly convex): its gradient, by autodiff of
    :func:`maxent_loss` through soft VI, μ_π(r) − μ_E + l2 · r, vanishes there; the unregularised result differs
    (and is not stationary for the regularised loss)."""
    p = gridworld(3, slip=0.1, discount=0.9, horizon=5)
    mu_e = visitation(p.mdp, soft_value_iteration(p.mdp, 3.0 * p.reward).policy).discounted_state_action.sum(-1)
    l2 = 0.5

    @jax.jit
    def reg_grad(r):
        return jax.grad(lambda x: maxent_loss(p.mdp, x, mu_e) + 0.5 * l2 * jnp.sum(x**2))(r)

    res = maxent_irl(p.mdp, p.features, mu_e, jax.random.key(0), model="tabular", optimizer="sgd",
                     learning_rate=0.5, num_steps=60, l2=l2)
    np.testing.assert_allclose(reg_grad(res.reward), 0.0, atol=1e-4)
    np.testing.assert_allclose(float(res.grad_norm[-1]), float(jnp.linalg.norm(reg_grad(res.reward))), atol=1e-4)
    mu_pi = visitation(p.mdp, soft_value_iteration(p.mdp, res.reward).policy).discounted_state_action.sum(-1)
    np.testing.assert_allclose(mu_pi - mu_e + l2 * res.reward, 0.0, atol=1e-4)
    free = maxent_irl(p.mdp, p.features, mu_e, jax.random.key(0), model="tabular", optimizer="sgd",
                      learning_rate=0.5, num_steps=60, l2=0.0)
    assert float(jnp.max(jnp.abs(free.reward - res.reward))) > 0.1
    assert float(jnp.linalg.norm(reg_grad(free.reward))) > 0.1


@pytest.mark.parametrize("dynamics", ["deterministic", "stochastic"])
def test_loss_is_the_causal_likelihood_with_expected_next_values(dynamics):
    """The module docstring's claim: ``maxent_loss`` is α times ``−Σ_t γ^t log π(a_t | s_t)`` of the demonstrated
    actions with each realised next state's soft value replaced by its expectation — so with deterministic
    dynamics exactly the demonstrations' negative log-likelihood (here at γ = 0.9, α = 0.7), with stochastic
    dynamics not (the gap depends on r)."""
    rng = np.random.default_rng(3)
    S_, A, H, gamma, alpha = 3, 2, 3, 0.9, 0.7
    if dynamics == "deterministic":
        T = np.eye(S_)[rng.integers(0, S_, (S_, A))]
    else:
        T = rng.dirichlet(np.ones(S_), size=(S_, A))
    # two demonstrations, their successors drawn from the dynamics
    actions = np.array([[0, 1, 1], [1, 0, 0]])
    states = np.zeros((2, H + 1), int)
    states[:, 0] = [0, 2]
    for i in range(2):
        for t in range(H):
            states[i, t + 1] = rng.choice(S_, p=T[states[i, t], actions[i, t]])
    initial = np.bincount(states[:, 0], minlength=S_) / 2.0
    mdp = TabularMDP(jnp.asarray(T, jnp.float32), jnp.asarray(initial, jnp.float32), gamma, H)
    mu_e = np.zeros(S_)
    for i in range(2):
        for t in range(H):
            mu_e[states[i, t]] += gamma**t / 2.0
    mu_e = jnp.asarray(mu_e, jnp.float32)

    def pieces(r):
        sol = soft_value_iteration(mdp, r, alpha)
        t = jnp.arange(H)[None, :]
        logp = jnp.log(sol.policy[t, states[:, :-1], actions])  # (2, H)
        nll = -alpha * jnp.mean(jnp.sum(gamma ** t * logp, axis=1))
        v_next = jnp.concatenate([sol.v[1:], jnp.zeros((1, S_))])  # V_{t+1}, 0 after the horizon
        realised = v_next[jnp.arange(H)[None, :], states[:, 1:]]
        expected = jnp.einsum("nk,nk->n", jnp.asarray(T, jnp.float32)[states[:, :-1], actions].reshape(-1, S_),
                              v_next[jnp.tile(jnp.arange(H), 2)]).reshape(2, H)
        correction = jnp.mean(jnp.sum(gamma ** (t + 1) * (realised - expected), axis=1))
        return nll, correction

    for r in (jnp.asarray(rng.normal(size=S_), jnp.float32), jnp.asarray([0.0, 1.5, -2.0])):
        nll, correction = pieces(r)
        loss = maxent_loss(mdp, r, mu_e, alpha)
        np.testing.assert_allclose(loss, nll - correction, rtol=1e-5, atol=1e-5)  # the claim, both dynamics
        if dynamics == "deterministic":
            assert float(jnp.abs(correction)) < 1e-5
            np.testing.assert_allclose(loss, nll, rtol=1e-5, atol=1e-5)
        else:
            assert float(jnp.abs(correction)) > 1e-3  # not the likelihood of these trajectories


# --- from a third mutation audit -------------------------------------------------------------------------------------

# M5 (tabular/maxent.py): the reported loss with l2 > 0 is the loss at the step's parameters + (l2/2)‖params‖²
def test_maxent_reported_loss_includes_half_l2_times_the_squared_norm():

    p = gridworld(3, 0.1, 1.0, 4, "random", key=jax.random.key(0))
    mu_e = visitation(p.mdp, soft_value_iteration(p.mdp, 2.0 * p.reward, 1.0).policy).discounted_state_action.sum(-1)
    l2 = 0.5
    kw = dict(model="tabular", optimizer="sgd", learning_rate=0.5, l2=l2)
    one = maxent_irl(p.mdp, p.features, mu_e, jax.random.key(0), num_steps=1, **kw)
    two = maxent_irl(p.mdp, p.features, mu_e, jax.random.key(0), num_steps=2, **kw)
    r1 = one.reward                                   # the parameters before the second step (tabular: r = params)
    assert float(jnp.sum(r1**2)) > 1e-3               # the penalty is not negligible
    want = float(maxent_loss(p.mdp, r1, mu_e) + 0.5 * l2 * jnp.sum(r1**2))
    assert float(two.loss[1]) == pytest.approx(want, rel=1e-5, abs=1e-6)
