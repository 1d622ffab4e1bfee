"""The README's Python examples run as written (one namespace, in order), with their iteration counts shrunk.

A user's first contact with the library is copying these blocks; this keeps them true. Each shrinking
substitution must find its text, so a changed example fails here until this list is updated with it.
"""

import os
import re

import jax
import numpy as np

README = os.path.join(os.path.dirname(__file__), "..", "README.md")

# (text in the README, what the test runs instead): sizes only, never an API name
SHRINK = [
    ("num_steps=200)", "num_steps=20)"),
    ("num_envs=32, episode_length=50", "num_envs=8, episode_length=50"),
    ('bc={"steps": 2000, "coef": 1.0}, num_iterations=300', 'bc={"steps": 20, "coef": 1.0}, num_iterations=3'),
    ("num_iterations=300)\ntrainer", "num_iterations=3)\ntrainer"),
    ("bc.BCConfig(steps=2000)", "bc.BCConfig(steps=20)"),
    ("jax.random.split(jax.random.key(0), 8)", "jax.random.split(jax.random.key(0), 2)"),
    ("trainer.run(state, 300)", "trainer.run(state, 3)"),
]


def _blocks() -> list[str]:
    with open(README, encoding="utf-8") as f:
        text = f.read()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, re.S))
    for old, new in SHRINK:
        assert old in code, f"README example changed: {old!r} not found (update tests/test_readme.py)"
        code = code.replace(old, new)
    return code


def test_readme_python_examples_run(objective_registry, env_registry, reward_kind_registry):  # (they register some)
    from jaxirl import envs

    example = os.path.join(os.path.dirname(README), "jaxirl", "examples", "layernorm_gail.py")
    with open(example, encoding="utf-8") as f, open(README, encoding="utf-8") as g:  # the shipped example, as it is
        assert f"```python\n{f.read()}```" in g.read()

    namespace: dict = {}
    exec(compile(_blocks(), "README.md (python blocks)", "exec"), namespace)  # noqa: S102
    assert objective_registry["lsgan"] is namespace["lsgan"]
    assert objective_registry["gail_ln"].reward_kind == "layernorm_logit" and "layernorm_logit" in reward_kind_registry
    assert envs.make("slow_pointmass", 2, arena=2.0).base.max_speed == 0.5
    # the tabular example learned a reward; the adversarial one trained and returns a usable reward
    assert np.all(np.isfinite(np.asarray(namespace["result"].reward)))
    (demos, meta), trainer, state = namespace["expert_data"], namespace["trainer"], namespace["state"]
    r = namespace["reward"](demos.obs[:5], demos.action[:5], demos.next_obs[:5])
    assert r.shape == (5,) and np.all(np.isfinite(np.asarray(r)))
    assert int(state.iteration) == 3                                     # the last block's trainer.run(state, 3)
    assert jax.tree.leaves(namespace["states"])[0].shape[0] == 2         # the vmapped runs
    policy = namespace["policy"]
    assert np.all(np.isfinite(np.asarray(jax.tree.leaves(policy)[0])))
    # the score's normaliser is the file's, as jaxirl train's (a trainer given the Transition alone measured its own
    # random return at init: -54.9 against the recorded -51.3)
    assert trainer.expert_return == meta["expert_return"] and trainer.random_return == meta["random_return"]
    # learning from observation: the states-only trainer has the same normaliser, and no expert actions
    lfo = namespace["trainer_lfo"]
    assert not lfo.expert_actions and (lfo.expert_return, lfo.random_return) == (trainer.expert_return,
                                                                                  trainer.random_return)


def test_readme_set_up_commands_are_what_ci_runs():
    """The README's test command is the one `.ci/run` runs (after the same install), and its main command trains the
    shipped small-env config."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    commands = re.findall(r"```bash\n(python3 -m venv .venv && .*?)\n```", text)
    main, tests = commands[:2]
    assert main.endswith("pip install -e . && jaxirl train configs/airl_pointmass.yaml")
    assert os.path.isfile(os.path.join(os.path.dirname(README), "configs", "airl_pointmass.yaml"))
    with open(os.path.join(os.path.dirname(README), ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    install, test = tests.split(". .venv/bin/activate && ", 1)[1].split(" && ")
    assert install == 'pip install -e ".[test]"' and '-e ".[test]" && ' + test + "\n" in ci
    assert test.startswith("python -m pytest")
