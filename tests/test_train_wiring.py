"""The composed adversarial step's wiring, pinned down where the end-to-end learning tests cannot tell (a mutation
audit found each of these bugs passed them): the generator is relabelled with the discriminator AFTER its update
and with the true termination flags; the absorbing state's value follows the objective's reward type; the
discriminator's policy batch comes from this iteration's rollout and the in-scan evaluation is of the updated
policy; the rollout and the PPO update draw different keys and every demonstration can be drawn; the input
normaliser sees expert and policy batches."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl import envs
from jaxirl import reward as R
from jaxirl.objectives.gail import reward_from_logit
from jaxirl.rl import ppo
from jaxirl.train import make_train
from jaxirl.train_config import make_config


def _trainer(algorithm, episode_length=10, **disc):
    env = envs.make("pointmass", num_envs=4, episode_length=episode_length)
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    demos = envs.Transition(
        obs=jax.random.normal(k[0], (32, 6)), action=jax.random.uniform(k[1], (32, 2), minval=-1),
        reward=jnp.zeros(32), next_obs=jax.random.normal(k[2], (32, 6)), terminated=jnp.zeros(32), truncated=jnp.zeros(32))
    config = make_config(algorithm, "ppo", discriminator={"absorbing": True, "hidden": [8], "potential_hidden": [8], **disc},
                         generator_config={"num_steps": 4, "hidden": [8], "discount": 0.9}, num_iterations=1, eval_every=0)
    return make_train(config, env, demos, expert_return=0.0, random_return=-1.0)


@pytest.mark.parametrize("rt", ["gail", "log_d"])
def test_gail_absorbing_value_uses_the_reward_type(rt):
    trainer = _trainer("gail", reward_type=rt)
    params = R.init(trainer.model, jax.random.PRNGKey(0))
    params = params.replace(net={**params.net, "absorbing": jnp.asarray(-0.25)})  # score -2.5
    obs = jax.random.normal(jax.random.PRNGKey(3), (2, 6))
    act, term = jnp.zeros((2, 2)), jnp.array([0.0, 1.0])
    got = trainer._reward_of(params, trainer.init(jax.random.PRNGKey(1)).generator)(obs, act, obs, term, None)
    base = trainer._reward_of(params, trainer.init(jax.random.PRNGKey(1)).generator)(obs, act, obs, jnp.zeros(2), None)
    np.testing.assert_allclose(got[1] - base[1], 0.9 * float(reward_from_logit(jnp.asarray(-2.5), rt)) / 0.1, rtol=1e-5)


def test_generator_is_relabelled_with_the_updated_discriminator_and_true_termination_flags(monkeypatch):
    trainer = _trainer("airl", episode_length=3)  # truncations inside the 4-step rollout, never a termination
    seen = {}
    upd = ppo.update
    def spy(config, state, rollout, rewards, key, bc=None):
        seen["rollout"], seen["rewards"] = rollout, rewards
        return upd(config, state, rollout, rewards, key, bc=bc)
    monkeypatch.setattr(ppo, "update", spy)
    state0 = trainer.init(jax.random.PRNGKey(0))
    state0 = state0.replace(reward=state0.reward.replace(net={**state0.reward.net, "absorbing": jnp.asarray(-0.3)}))
    state1, _ = trainer._iteration(state0, trainer.demos)  # eagerly: the spy sees concrete arrays
    ro = seen["rollout"]; tr = ro.transition
    assert float(tr.truncated.sum()) > 0 and float(tr.terminated.sum()) == 0
    want = trainer._reward_of(state1.reward, state0.generator)(tr.obs, tr.action, tr.next_obs, tr.terminated, ro.log_prob, ro.raw_action)
    np.testing.assert_allclose(seen["rewards"], want, rtol=1e-5, atol=1e-6)


def test_input_normaliser_sees_expert_and_policy_batches():
    env = envs.make("pointmass", num_envs=4, episode_length=10)
    z = jnp.zeros((32, 6))
    demos = envs.Transition(obs=z, action=jnp.zeros((32, 2)), reward=jnp.zeros(32), next_obs=z,
                            terminated=jnp.zeros(32), truncated=jnp.zeros(32))
    config = make_config("gail", "ppo", discriminator={"hidden": [8], "normalize_inputs": True, "expert_batch_size": 16,
                                                       "policy_batch_size": 16},
                         generator_config={"num_steps": 4, "hidden": [8]}, num_iterations=1, eval_every=0)
    trainer = make_train(config, env, demos, expert_return=0.0, random_return=-1.0)
    state, _ = trainer.run(trainer.init(jax.random.PRNGKey(0)), 1)
    norm = state.reward.norm
    # expert obs are all 0: 64 zero rows (obs, next_obs) + 32 policy rows; the policy's goals are uniform in [-1, 1]^2
    assert int(norm.count) == 2 * (16 + 16)
    assert float(jnp.min(norm.var[4:6])) > 0.01


def test_discriminator_policy_batch_is_from_this_iterations_rollout_and_eval_is_of_the_updated_policy(monkeypatch):
    from jaxirl.objectives import discriminator as D
    trainer = _trainer("gail", episode_length=5, num_steps=2)
    trainer = make_train(trainer.config.replace(eval_every=1), trainer.env, trainer.demos, expert_return=0.0, random_return=-1.0)
    seen, step = [], D.step
    def spy(objective, model, dcfg, params, opt, e, p, *a):
        jax.debug.callback(lambda x: seen.append(np.asarray(x)), p.obs)  # the compiled step reports its policy batch
        return step(objective, model, dcfg, params, opt, e, p, *a)
    monkeypatch.setattr(D, "step", spy)
    state0 = trainer.init(jax.random.PRNGKey(0))
    state1, m = trainer.run(state0, 1)
    assert len(seen) == 2
    rows = {tuple(np.round(r, 5)) for r in np.asarray(state1.replay.data[0].obs)}  # replay_rollouts=1: this rollout
    assert all(tuple(np.round(r, 5)) in rows for p in seen for r in p)
    ev = trainer.evaluate(state1, jax.random.split(state0.key, 6)[5])
    assert float(m["return_det"][0]) == pytest.approx(float(ev["return_det"]), rel=1e-5)


def test_iteration_keys_are_distinct_and_every_demo_is_drawn(monkeypatch):
    from jaxirl.objectives import discriminator as D
    env = envs.make("pointmass", num_envs=4, episode_length=10)
    obs = jnp.eye(6)[:4]  # 4 distinct demonstrations
    demos = envs.Transition(obs=obs, action=jnp.zeros((4, 2)), reward=jnp.zeros(4), next_obs=obs,
                            terminated=jnp.zeros(4), truncated=jnp.zeros(4))
    config = make_config("gail", "ppo", discriminator={"hidden": [8], "expert_batch_size": 64, "num_steps": 4},
                         generator_config={"num_steps": 4, "hidden": [8]}, num_iterations=1, eval_every=0)
    trainer = make_train(config, env, demos, expert_return=0.0, random_return=-1.0)
    keys, gen = {}, trainer.generator
    trainer.generator = gen._replace(
        rollout=lambda s, e, k: (isinstance(k, jax.core.Tracer) or keys.__setitem__("roll", np.asarray(k)), gen.rollout(s, e, k))[1],
        update=lambda s, ro, r, k, bc=None: (keys.__setitem__("gen", np.asarray(k)), gen.update(s, ro, r, k, bc))[1])
    seen, step = [], D.step
    monkeypatch.setattr(D, "step", lambda o, m, c, pa, op, e, *a: (seen.append(np.asarray(e.obs)), step(o, m, c, pa, op, e, *a))[1])
    state0 = trainer.init(jax.random.PRNGKey(0))
    with jax.disable_jit():
        trainer._iteration(state0, trainer.demos)
    assert not np.array_equal(keys["roll"], keys["gen"])  # the update's minibatch shuffles are not the rollout's draws
    drawn = {int(np.argmax(r)) for b in seen for r in b}
    assert drawn == {0, 1, 2, 3}


# --- from a mutation audit: K discriminator steps, K fresh batches ---------------------------------------------------

def test_each_discriminator_step_draws_fresh_batches_and_the_last_reports(monkeypatch):
    from jaxirl.envs import Transition
    from jaxirl.objectives import discriminator as D

    env = envs.make("pointmass", num_envs=4, episode_length=10)
    k = jax.random.split(jax.random.PRNGKey(1), 2)
    demos = Transition(obs=jax.random.normal(k[0], (32, 6)), action=jax.random.uniform(k[1], (32, 2), minval=-1),
                       reward=jnp.zeros(32), next_obs=jax.random.normal(k[0], (32, 6)), terminated=jnp.zeros(32),
                       truncated=jnp.zeros(32))
    config = make_config("gail", "ppo", discriminator={"hidden": [8], "num_steps": 3, "expert_batch_size": 8,
                                                       "policy_batch_size": 8},
                         generator_config={"num_steps": 4, "hidden": [8]}, num_iterations=1, eval_every=0)
    trainer = make_train(config, env, demos, expert_return=0.0, random_return=-1.0)
    seen, losses, step = [], [], D.step

    def spy(objective, model, dcfg, params, opt, e, p, *a):
        jax.debug.callback(lambda x, y: seen.append((np.asarray(x), np.asarray(y))), e.obs, p.obs, ordered=True)
        out = step(objective, model, dcfg, params, opt, e, p, *a)
        jax.debug.callback(lambda x: losses.append(float(x)), out[2]["disc_loss"], ordered=True)
        return out

    monkeypatch.setattr(D, "step", spy)
    _, metrics = trainer.run(trainer.init(jax.random.PRNGKey(0)), 1)
    assert len(seen) == len(losses) == 3
    # the iteration reports the last discriminator step's metrics (on that step's inputs)
    assert float(metrics["disc_loss"][0]) == losses[-1] != losses[0]
    for i in range(3):
        for j in range(i):
            assert not np.array_equal(seen[i][0], seen[j][0]), ("expert batch reused", i, j)
            assert not np.array_equal(seen[i][1], seen[j][1]), ("policy batch reused", i, j)
