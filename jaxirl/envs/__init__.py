"""Environments: batched auto-resetting wrappers (:class:`VecEnv`), ``pointmass``, tabular MDPs, Brax."""

from jaxirl.envs.base import BaseState, EnvState, Transition, VecEnv
from jaxirl.envs.pointmass import PointMass, scripted_action
from jaxirl.envs.registry import BRAX_BACKENDS, BRAX_ENVS, env_names, from_mdp, make, register_env
from jaxirl.envs.tabular import TabularEnv, TabularVecEnv

__all__ = [
    "BRAX_BACKENDS",
    "BRAX_ENVS",
    "BaseState",
    "EnvState",
    "PointMass",
    "TabularEnv",
    "TabularVecEnv",
    "Transition",
    "VecEnv",
    "env_names",
    "from_mdp",
    "make",
    "register_env",
    "scripted_action",
]
