"""Under ``jax_enable_x64`` a float64 MDP is solved in float64 end to end: soft VI to a NumPy float64 value
iteration's precision, MaxEnt IRL (linear, tabular, MLP; exact and sampled) and apprenticeship learning return
float64 results, and EPIC of equivalent float64 rewards is 0 to float64 rounding. (A subprocess: x64 is global.)"""

import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..")

_SCRIPT = r"""
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
from jaxirl import metrics, tabular
from jaxirl.tabular.feature_matching import policy_feature_expectations

p = tabular.gridworld(4, discount=0.9, slip=0.2)
f64 = lambda x: jnp.asarray(x, jnp.float64)
mdp = p.mdp.replace(transition=f64(p.mdp.dense_transition()), initial=f64(p.mdp.initial), discount=f64(0.9),
                    next_states=None)
assert p.mdp.dtype == jnp.float32 and mdp.dtype == jnp.float64
# the builders keep γ as given (a Python float): arrays cast to float64 meet an exact 0.9, not float32's 0.89999998
assert all(b.mdp.discount == 0.9 for b in (p, tabular.objectworld(4, 3, discount=0.9, key=jax.random.PRNGKey(0)), tabular.cliff_world(discount=0.9),
                                            tabular.random_mdp(4, 2, discount=0.9, key=jax.random.PRNGKey(0))))
cast = jax.tree.map(lambda x: x.astype(jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, p.mdp)
assert cast.dtype == jnp.float64 and cast.discount == 0.9  # the README's recipe: every leaf has a dtype
r, F = f64(p.reward), f64(p.features)
sol = tabular.soft_value_iteration(mdp, r, tol=1e-13)
# NumPy float64 soft value iteration (temperature 1) to convergence
T, v = np.asarray(mdp.transition), np.zeros(16)
for _ in range(2000):
    q = np.asarray(r)[:, None] + 0.9 * T @ v
    v = np.log(np.exp(q - q.max(1, keepdims=True)).sum(1)) + q.max(1)
err = float(np.max(np.abs(np.asarray(sol.v) - v)))
assert sol.v.dtype == jnp.float64 and err < 1e-9, err
mu = tabular.visitation(mdp, sol.policy).discounted_state_action.sum(-1)
# a float32 policy on a float64 MDP is computed in float64 (it crashed the finite-horizon scan, and solved the
# infinite-horizon visitation in float32)
pi32 = jnp.asarray(sol.policy, jnp.float32)
d = tabular.visitation(mdp, pi32).discounted
d_ref = tabular.visitation(mdp, f64(pi32)).discounted
assert d.dtype == jnp.float64 and float(jnp.max(jnp.abs(d - d_ref))) < 1e-12
fh = tabular.visitation(mdp.replace(horizon=3), pi32)
assert fh.per_step.dtype == jnp.float64 and np.allclose(np.asarray(fh.per_step).sum(-1), 1.0, atol=1e-12)
key = jax.random.PRNGKey(0)
for model in ("linear", "tabular", "mlp"):
    res = tabular.maxent_irl(mdp, F, mu, key, model=model, num_steps=5)
    assert res.reward.dtype == jnp.float64 and np.all(np.isfinite(np.asarray(res.loss))), model
res = tabular.maxent_irl_sampled(mdp, F, mu, key, num_steps=3, num_samples=8, sample_length=20)
assert res.reward.dtype == jnp.float64
mu_f = policy_feature_expectations(mdp, sol.policy, F)
for temperature in (None, 1.0):
    out = tabular.apprenticeship_learning(mdp, F, mu_f, num_iterations=4, temperature=temperature)
    assert all(x.dtype in (jnp.float64, jnp.int32, jnp.int64, jnp.bool_) for x in jax.tree.leaves(out))
e64 = metrics.epic_distance(r, 2 * r + 1, mdp=mdp)
d64 = float(e64)
d32 = float(metrics.epic_distance(p.reward, 2 * p.reward + 1, mdp=p.mdp))
# (float32 left ~5e-4 here until EPIC worked at unit scale; 0 now, so the float64 check is the dtype and the bound)
assert e64.dtype == jnp.float64 and d64 < 1e-6 and d32 < 1e-3, (d64, d32)
e = float(metrics.epic_distance(r, r + 1e-5 * F[:, 0], mdp=mdp))  # D ~ 1e-5: 1 - rho ~ 1e-10, below float32
assert 0 < e < 1e-3, e
assert metrics.pearson(r, r).dtype == jnp.float64

# the adversarial step under x64: the soft-VI generator on a float64 MDP (its float32 state crashed the scan carry),
# and GAIL + PPO on pointmass, whose params and env state stay float32 (log_std and the env's state were float64)
from jaxirl import envs
from jaxirl.data import collect_demos
from jaxirl.train import make_train
from jaxirl.train_config import make_config
tab_env = envs.from_mdp(mdp, r, 4, episode_length=10)
tab_demos = collect_demos(tab_env, lambda o, k: jnp.argmax(sol.policy[jnp.argmax(o, -1)], -1), key, 40)[0]
cfg = make_config("airl", "soft_vi", num_iterations=2, eval_every=0, generator_config=dict(num_steps=5),
                  discriminator=dict(hidden=(8,), expert_batch_size=8, policy_batch_size=8))
st, m = jax.jit(make_train(cfg, tab_env, tab_demos, expert_return=1.0).train)(key)
assert st.generator.value.dtype == jnp.float64 and np.all(np.isfinite(np.asarray(m["disc_loss"])))
pm = envs.make("pointmass", 4, episode_length=20)
pm_demos = collect_demos(pm, lambda o, k: envs.scripted_action(o), key, 4)[0]
cfg = make_config("gail", "ppo", num_iterations=2, eval_every=0, generator_config=dict(num_steps=10, hidden=(8,)),
                  discriminator=dict(hidden=(8,), expert_batch_size=8, policy_batch_size=8))
st, m = jax.jit(make_train(cfg, pm, pm_demos, expert_return=1.0, random_return=0.0).train)(key)
wide = [str(x.dtype) for x in jax.tree.leaves((st.generator.params, st.env_state)) if x.dtype == jnp.float64]
assert not wide, wide
print("ok", err, d64, d32)
"""


def test_float64_mdps_stay_float64():
    env = dict(os.environ, PYTHONPATH=os.path.abspath(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0 and out.stdout.startswith("ok"), out.stdout + out.stderr[-3000:]
