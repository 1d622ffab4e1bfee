"""Exact tabular IRL: MDPs, soft value iteration, visitation, MaxEnt IRL, feature matching."""

from jaxirl.tabular.mdp import TabularMDP, expected_next, expected_reward, push_forward, validate_mdp
from jaxirl.tabular.soft_vi import SoftVIResult, hard_value_iteration, soft_value_iteration
from jaxirl.tabular.visitation import VisitationResult, visitation
