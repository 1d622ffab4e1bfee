"""Exact tabular IRL: MDPs, soft value iteration, visitation, MaxEnt IRL, feature matching."""

from jaxirl.tabular.builders import TabularProblem, cliff_world, gridworld, objectworld, random_mdp
from jaxirl.tabular.demos import Trajectories, empirical_visitation, feature_expectations, sample_trajectories
from jaxirl.tabular.feature_matching import FeatureMatchingResult, apprenticeship_learning
from jaxirl.tabular.maxent import MaxEntResult, maxent_irl, maxent_irl_sampled, maxent_loss
from jaxirl.tabular.mdp import (
    TabularMDP,
    backup_operator,
    expected_next,
    expected_reward,
    forward_operator,
    push_forward,
    validate_mdp,
)
from jaxirl.tabular.soft_vi import SoftVIResult, hard_value_iteration, soft_value_iteration
from jaxirl.tabular.visitation import VisitationResult, visitation

__all__ = [
    "FeatureMatchingResult", "MaxEntResult", "SoftVIResult", "TabularMDP", "TabularProblem", "Trajectories",
    "VisitationResult", "apprenticeship_learning", "backup_operator", "cliff_world", "empirical_visitation",
    "expected_next", "expected_reward", "feature_expectations", "forward_operator", "gridworld",
    "hard_value_iteration", "maxent_irl", "maxent_irl_sampled", "maxent_loss", "objectworld", "push_forward",
    "random_mdp", "sample_trajectories", "soft_value_iteration", "validate_mdp", "visitation",
]
