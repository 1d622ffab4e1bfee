"""Forward RL generators: PPO (:mod:`jaxirl.rl.ppo`) and policy evaluation (:mod:`jaxirl.rl.evaluate`)."""

from jaxirl.rl import ppo
from jaxirl.rl.evaluate import evaluate

__all__ = ["evaluate", "ppo"]
