"""jaxirl: inverse reinforcement learning in JAX.

Subpackages: :mod:`jaxirl.tabular` (exact MaxEnt IRL), :mod:`jaxirl.envs`, :mod:`jaxirl.rl` (generators),
:mod:`jaxirl.reward`, :mod:`jaxirl.objectives`, :mod:`jaxirl.train` (the composed adversarial step),
:mod:`jaxirl.data` (demonstrations), :mod:`jaxirl.bc` (behavioural cloning), :mod:`jaxirl.metrics`,
:mod:`jaxirl.parallel` (runs over devices).
"""

__version__ = "0.1.0"


def load_reward(run_dir: str, which=None):
    """The learned reward of a finished ``jaxirl train`` run as a plain function
    ``(obs, action, next_obs=None) -> reward`` (for AIRL the re-usable reward ``g``)."""
    from jaxirl.jobs.train import load_reward as _load

    return _load(run_dir, which)


def load_reward_model(run_dir: str, which=None):
    """``(model, params, which)`` of a finished run's learned reward, for code that needs the parameters
    themselves (a vmap over several runs' rewards, gradients in the parameters):
    ``jaxirl.reward.reward_fn(model, params, which)`` is :func:`load_reward`'s function, and
    ``jaxirl.reward.learned_reward(model, params, jaxirl.reward.encode(model, obs, action, next_obs), which)``
    its body, pure in ``params``. A reward kind of one's own (``jaxirl.reward.register_reward_kind``) also takes the
    run's γ there, ``discount=`` (``reward_model.json``'s ``discount``)."""
    from jaxirl.jobs.train import reward_model

    return reward_model(run_dir, which)


def save_reward(directory: str, trainer, state) -> str:
    """Write one run's learned reward (``state`` from ``trainer.train`` / ``trainer.run``) where
    :func:`load_reward` reads it: ``reward_model.json`` and ``reward.msgpack`` in ``directory``."""
    from jaxirl.jobs.train import save_reward as _save

    return _save(directory, trainer, state)
