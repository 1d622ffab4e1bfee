"""Forward RL generators: PPO (:mod:`jaxirl.rl.ppo`) and policy evaluation (``jaxirl.rl.evaluate``: the function, which
shadows its module here; ``from jaxirl.rl.evaluate import evaluate`` gives the same)."""

from jaxirl.rl import ppo
from jaxirl.rl.evaluate import evaluate

__all__ = ["evaluate", "ppo"]
