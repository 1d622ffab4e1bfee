"""Tabular AIRL with the exact soft-VI generator: reward recovery (Fu et al. 2018, §7.1 and appendix).

On a 16-state, 4-action random MDP with DETERMINISTIC transitions (γ = 0.9, infinite horizon, uniform
initial state, random state reward ``r``), the expert is the soft-optimal policy of ``r`` and demos are
sampled from it. AIRL's discriminator equilibrium is ``f(s, a, s') = A*(s, a) = r(s) + γ V*(s') − V*(s)``;
with a state-only ``g`` and deterministic dynamics the decomposition ``f = g + γ h(s') − h(s)`` forces
``g = r + const`` (disentanglement, Fu et al. 2018, Theorem 5.1/appendix C), so ``g`` must correlate with
``r`` — on the states some transition leads to: a state without a predecessor never appears as ``s'``, so its
``h`` and with it its ``g`` are free (the seed-0 MDP has two such states and still passes; seed 1 has one, where a
review measured 0.96 with these keys and 0.93 with others, not improved by 8× more demonstrations). A state-action ``g(s, a)`` may absorb any shaping term ``γ φ(s') − φ(s)`` (the next state is a
function of ``(s, a)``), so it is only identified up to shaping and need not equal ``r``.
With stochastic dynamics the decomposition is not exact; we measure how close it gets.

Measured on this machine (seed-0 MDPs, 300 iterations, Pearson over all (s, a) pairs against r(s); the
spread is over runs whose programs differed only in float reassociation): state-only 0.969-0.988;
state-action 0.956-0.967 (and only 0.15-0.19 with the expert's soft advantage); state-only with
stochastic dynamics 0.832-0.836. So in practice the state-action ``g`` here stays close to ``r`` as well:
the potential ``h`` absorbs the shaping term (gradient descent from a small initialisation favours the
``S``-parameter ``h`` over spreading the shaping across ``g(s, a)``). The "expect low" expectation does not
hold in this setup; the test asserts only that state-action is not better than state-only.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl.data import collect_demos
from jaxirl.envs import from_mdp
from jaxirl.rl import soft_vi
from jaxirl.tabular import TabularMDP, soft_value_iteration
from jaxirl.train import make_train
from jaxirl.train_config import make_config

S, A, EPISODE = 16, 4, 30
RESULTS = {}


def _random_mdp(stochastic: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    if stochastic:
        T = rng.dirichlet(np.full(S, 0.3), size=(S, A)).astype(np.float32)
    else:
        T = np.eye(S, dtype=np.float32)[rng.integers(0, S, size=(S, A))]  # one random next state per (s, a)
    r = rng.normal(size=S).astype(np.float32)
    return TabularMDP(jnp.asarray(T), jnp.full((S,), 1.0 / S), 0.9), r


def _run_airl(stochastic: bool, inputs: str):
    mdp, r = _random_mdp(stochastic)
    expert = soft_value_iteration(mdp, jnp.asarray(r))
    log_pi = jnp.log(expert.policy)
    env = from_mdp(mdp, jnp.asarray(r), 32, episode_length=EPISODE)

    def expert_act(obs, key):
        return jax.random.categorical(key, log_pi[jnp.argmax(obs, -1)]).astype(jnp.int32)

    demos, returns = collect_demos(env, expert_act, jax.random.PRNGKey(1), 1024)
    config = make_config(
        "airl",
        "soft_vi",
        discriminator=dict(
            learning_rate=1e-2, inputs=inputs, hidden=(32,), potential_hidden=(32,), activation="tanh",
            normalize_inputs=False, num_steps=5, expert_batch_size=2048, policy_batch_size=2048, replay_rollouts=4,
        ),
        generator_config=dict(num_steps=EPISODE),
        num_iterations=300,
        eval_every=0,
    )
    trainer = make_train(config, env, demos, expert_return=float(returns.mean()))
    state, metrics = jax.jit(trainer.train)(jax.random.PRNGKey(0))
    eye = jnp.eye(S)
    g = np.stack([np.asarray(trainer.reward_fn(state)(eye, jnp.full((S,), a, jnp.int32))) for a in range(A)], 1)
    policy_tv = float(0.5 * jnp.abs(jnp.exp(state.generator.log_policy) - expert.policy).sum(-1).mean())
    corr = float(np.corrcoef(g.ravel(), np.repeat(r, A))[0, 1])  # g(s, a) over all pairs vs r(s)
    return corr, g, policy_tv, metrics


def _record(name, corr, tv):
    RESULTS[name] = corr
    print(f"\n[tabular AIRL] {name}: Pearson(g, r) = {corr:.3f}, policy TV to expert = {tv:.3f}")


@pytest.mark.slow
def test_state_only_airl_recovers_the_state_reward():
    corr, g, tv, metrics = _run_airl(stochastic=False, inputs="s")
    _record("deterministic, state-only g(s)", corr, tv)
    assert np.allclose(g, g[:, :1])  # state-only: no dependence on the action
    assert corr >= 0.95
    assert tv < 0.1  # the generator imitates the expert
    assert abs(float(metrics["disc_loss"][-20:].mean()) - 2 * np.log(2)) < 0.05  # equilibrium: D ≈ ½


@pytest.mark.slow
def test_state_action_airl_recovers_a_shaped_reward_instead():
    corr, g, tv, _ = _run_airl(stochastic=False, inputs="sa")
    _record("deterministic, state-action g(s, a)", corr, tv)
    assert tv < 0.1
    if "deterministic, state-only g(s)" not in RESULTS:
        pytest.skip("needs the state-only result of the previous test in the same session")
    # not better than state-only (measured 0.956-0.967 vs 0.969-0.988; too close to assert strictly)
    assert corr <= RESULTS["deterministic, state-only g(s)"] + 0.01
    # a state-action g is not the expert's soft advantage either
    mdp, r = _random_mdp(stochastic=False)
    expert = soft_value_iteration(mdp, jnp.asarray(r))
    adv_corr = float(np.corrcoef(g.ravel(), np.asarray(expert.q - expert.v[:, None]).ravel())[0, 1])
    print(f"[tabular AIRL] state-action g vs expert soft advantage: Pearson = {adv_corr:.3f}")
    assert adv_corr < corr


@pytest.mark.slow
def test_state_only_airl_with_stochastic_dynamics_is_approximate():
    corr, _, tv, _ = _run_airl(stochastic=True, inputs="s")
    _record("stochastic, state-only g(s)", corr, tv)
    assert corr >= 0.75  # measured 0.832-0.836: recovery is only approximate without deterministic dynamics


def test_demonstrated_discrete_actions_out_of_range_are_refused():
    """A demonstration action outside [0, A) has log π = NaN under the generator and an all-zero one-hot: it made every
    discriminator loss NaN without an error. ``make_train`` refuses it, as ``load_demos`` does for a file."""
    mdp, r = _random_mdp(stochastic=False)
    env = from_mdp(mdp, jnp.asarray(r), 4, episode_length=EPISODE)
    demos, returns = collect_demos(env, lambda obs, key: jnp.zeros(obs.shape[:-1], jnp.int32), jax.random.PRNGKey(1), 4)
    config = make_config("airl", "soft_vi", discriminator=dict(hidden=(8,), potential_hidden=(8,), expert_batch_size=16,
                                                              policy_batch_size=16), generator_config=dict(num_steps=5),
                         num_iterations=2, eval_every=0)
    make_train(config, env, demos, expert_return=1.0)  # in range: accepted
    for bad in (A, -1):
        with pytest.raises(ValueError, match=rf"demos.action: indices must lie in \[0, {A}\)"):
            make_train(config, env, demos.replace(action=jnp.full_like(demos.action, bad)), expert_return=1.0)
    with pytest.raises(ValueError, match="tol"):
        soft_vi.SoftVIConfig(tol=float("inf")).validate()


def test_soft_vi_generator_tables_lookup_and_rollout():
    mdp, r = _random_mdp(stochastic=True, seed=3)
    env = from_mdp(mdp, jnp.asarray(r), 4, episode_length=EPISODE)
    config = soft_vi.SoftVIConfig(temperature=0.5, num_steps=6)
    state = soft_vi.init(config, env, jax.random.PRNGKey(0))
    np.testing.assert_allclose(np.exp(state.log_policy), 1.0 / A)  # uniform before any reward
    # reward_table evaluates a function on every one-hot (s, a, s')
    w = jax.random.normal(jax.random.PRNGKey(1), (S, A, S))
    fn = lambda obs, a, nxt: jnp.einsum("...s,...t,st->...", obs, nxt, w[:, 0, :]) + w[jnp.argmax(obs, -1), a, 0]
    table = soft_vi.reward_table(fn, S, A)
    s_, a_, n_ = np.meshgrid(np.arange(S), np.arange(A), np.arange(S), indexing="ij")
    np.testing.assert_allclose(table, np.asarray(w)[s_, 0, n_] + np.asarray(w)[s_, a_, 0], rtol=1e-5)
    # update = exact soft VI of the table at the configured temperature
    state, m = soft_vi.update(config, state, env, table)
    want = soft_value_iteration(mdp, table, 0.5)
    np.testing.assert_allclose(np.exp(state.log_policy), want.policy, atol=1e-5)
    assert float(m["vi_residual"]) < 1e-3
    # act / log_prob / act_deterministic are table look-ups; rollout has PPO's Rollout layout
    obs = jnp.eye(S)
    act, logp = soft_vi.act(config, state, obs, jax.random.PRNGKey(2))
    np.testing.assert_allclose(logp, state.log_policy[jnp.arange(S), act], rtol=1e-6)
    np.testing.assert_allclose(soft_vi.log_prob(config, state, obs, act), logp, rtol=1e-6)
    np.testing.assert_array_equal(soft_vi.act_deterministic(config, state, obs), np.argmax(want.policy, -1))
    _, ro = soft_vi.rollout(config, state, env, env.reset(jax.random.PRNGKey(3)), jax.random.PRNGKey(4))
    assert ro.transition.obs.shape == (6, 4, S) and ro.log_prob.shape == (6, 4)
    s_idx, nxt_idx = jnp.argmax(ro.transition.obs, -1), jnp.argmax(ro.transition.next_obs, -1)
    np.testing.assert_allclose(ro.value, state.value[s_idx], rtol=1e-6)
    np.testing.assert_allclose(ro.next_value, state.value[nxt_idx], rtol=1e-6)
    finite = TabularMDP(mdp.transition, mdp.initial, 0.9, horizon=5)
    with pytest.raises(ValueError, match="horizon"):
        soft_vi.init(config, from_mdp(finite, jnp.asarray(r), 2), jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="temperature"):
        soft_vi.SoftVIConfig(temperature=0.0).validate()


# --- from a mutation audit: the soft-VI generator keeps its solved values --------------------------------------------

def test_soft_vi_generator_keeps_the_solved_soft_values():
    """After ``update`` the state's ``value`` is the solved V (what the rollout reports as value/next_value and what
    the next solve starts from): a second solve of the same reward then starts converged."""
    from jaxirl.tabular import gridworld

    prob = gridworld(3, slip=0.2, discount=0.9)
    env = from_mdp(prob.mdp, prob.reward, 2, episode_length=10)
    config = soft_vi.SoftVIConfig(temperature=0.5, num_steps=3)
    state = soft_vi.init(config, env, jax.random.PRNGKey(0))
    state, m1 = soft_vi.update(config, state, env, prob.reward)
    want = soft_value_iteration(prob.mdp, prob.reward, 0.5)
    np.testing.assert_allclose(state.value, want.v, atol=1e-4)
    _, m2 = soft_vi.update(config, state, env, prob.reward)
    assert int(m2["vi_iterations"]) <= 2 < int(m1["vi_iterations"])
