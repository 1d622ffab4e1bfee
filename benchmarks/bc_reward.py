"""How a BC warm start and a BC term change AIRL's recovered reward on pointmass (a check, not a test).

    python benchmarks/bc_reward.py

Trains the shipped ``configs/airl_pointmass.yaml`` (3 seeds vmapped, 300 iterations) pure, with the BC warm start and
BC term (``bc.steps=2000 bc.coef=1.0``), and with the warm start only, then correlates each run's learned state-only
reward ``g(s)`` with the true reward's state part ``-|p - g|`` (Pearson) on the demonstrated states and on 4000
uniformly drawn states. Prints one line per variant (results in ``benchmarks/results/bc_adversarial.md``).
"""
import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from quality import _setup  # noqa: E402

from jaxirl.metrics import pearson  # noqa: E402


def main(argv=None):
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    for label, over in (("pure", []), ("bc+term", ["bc.steps=2000", "bc.coef=1.0"]), ("bc warm only", ["bc.steps=2000"])):
        _, _, _, trainer, _ = _setup("pointmass", "airl", over + ["run.progress=false"])
        keys = jax.random.split(jax.random.PRNGKey(0), 3)
        states, m = jax.jit(jax.vmap(trainer.train))(keys)
        d = trainer.demos
        rng = np.random.default_rng(0)
        n = 4000
        pos, goal = rng.uniform(-1, 1, (n, 2)), rng.uniform(-1, 1, (n, 2))  # the arena is [-1, 1]^2
        vel = rng.normal(0, 0.3, (n, 2))
        rnd_obs = jnp.asarray(np.concatenate([pos, vel, goal], 1), jnp.float32)  # obs = (p, v, goal)
        out = []
        for i in range(3):
            st = jax.tree.map(lambda x: x[i], states)
            r = trainer.reward_fn(st)
            for obs in (d.obs, rnd_obs):
                true = -jnp.linalg.norm(obs[:, :2] - obs[:, 4:6], axis=1)
                out.append(float(pearson(r(obs, jnp.zeros((obs.shape[0], 2))), true)))
        sc = np.asarray(m["score_det"][:, -1])
        print(f"{label}: final score per seed {sc.round(3)}; Pearson(g, -|p - goal|) per seed, demonstrated / uniform "
              f"states: {np.round(out, 3).reshape(3, 2).tolist()}", flush=True)


if __name__ == "__main__":
    main()
