"""Small helpers shared by test modules (imported as ``helpers``: pytest puts ``tests/`` on the import path)."""

import jax.numpy as jnp


def shift_policy_mean(state, delta):
    """A PPO state whose actor's output bias (the policy mean's, before any squash) is moved by ``delta`` ``(A,)``:
    a policy pushed towards or past the action bounds without training it there."""
    actor = state.params["actor"]
    mlp = actor["params"]["MLP_0"]
    out = {**mlp["Dense_1"], "bias": mlp["Dense_1"]["bias"] + jnp.asarray(delta)}
    actor = {**actor, "params": {**actor["params"], "MLP_0": {**mlp, "Dense_1": out}}}
    return state.replace(params={**state.params, "actor": actor})
