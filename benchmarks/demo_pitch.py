"""What the planar experts' demonstrations do with their torso: upright, or flipped onto the back.

    python benchmarks/demo_pitch.py                        # demos/halfcheetah.npz, halfcheetah_spring, hopper, walker2d
    python benchmarks/demo_pitch.py demos/halfcheetah_spring.npz

In Brax's planar envs (halfcheetah, hopper, walker2d) an observation starts with the torso's height and its pitch
angle (``q[1:]``: rootz, rooty, …), so ``obs[:, 1]`` is the pitch in radians, 0 upright. For every episode of
each file this reports the return, the first step at which the torso is past a quarter turn (|pitch| > π/2, on its
back or nose) and the share of steps spent that way, and the mean reward per step upright and flipped. hopper and
walker2d end an episode when the torso tilts past 0.2 / 1 rad, so only halfcheetah can flip at all. No JAX work: reads
the files. Writes ``benchmarks/results/demo_pitch.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from jaxirl.data import load_demos  # noqa: E402

import report  # noqa: E402

PLANAR = ("halfcheetah", "hopper", "walker2d")
DEFAULT_FILES = ("halfcheetah", "halfcheetah_spring", "hopper", "walker2d")
PITCH = 1  # obs column of the torso's pitch in Brax's planar envs (obs = q[1:] + qd: rootz, rooty, ...)


def flipped(pitch: np.ndarray) -> np.ndarray:
    """True where the torso is more than a quarter turn from upright (|pitch| > π/2, counting whole turns)."""
    wrapped = (pitch + np.pi) % (2 * np.pi) - np.pi
    return np.abs(wrapped) > np.pi / 2


def episodes(path: str) -> tuple[dict, list[dict]]:
    """``(metadata, one dict per episode)`` of a planar env's demonstrations file."""
    demos, meta = load_demos(path)
    if meta["env"] not in PLANAR:
        raise ValueError(f"{path}: env {meta['env']!r} is not one of the planar Brax envs {', '.join(PLANAR)}")
    if demos.reward is None:
        raise ValueError(f"{path}: no rewards (has_rewards: false); the report needs the true reward of every step")
    obs, reward = np.asarray(demos.obs), np.asarray(demos.reward)
    rows = []
    for start, n, ret in zip(meta["episode_starts"], meta["episode_lengths"], meta["episode_returns"]):
        pitch, r = obs[start:start + n, PITCH], reward[start:start + n]
        down = flipped(pitch)
        first = int(np.argmax(down)) if down.any() else None
        rows.append({"return": float(ret), "length": int(n), "first_flip": first, "flipped_share": float(down.mean()),
                     "turns": float((pitch.max() - pitch.min()) / (2 * np.pi)),
                     "reward_upright": float(r[~down].mean()) if (~down).any() else None,
                     "reward_flipped": float(r[down].mean()) if down.any() else None})
    return meta, rows


def _f(x, fmt="{:.2f}"):
    return "—" if x is None else fmt.format(x)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", default=[os.path.join(ROOT, "demos", f"{e}.npz") for e in DEFAULT_FILES])
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results", "demo_pitch.md"))
    args = parser.parse_args(argv)
    lines = report.header("Demonstrations of the planar Brax envs: upright or flipped", "demo_pitch.py", argv)
    lines += ["- what: per episode, the first step with the torso past a quarter turn (|pitch| > π/2: on its back "
              "or nose; pitch = `obs[:, 1]`), the share of steps spent so, the pitch's range in whole turns, and "
              "the mean true reward per step upright / flipped", ""]
    for path in args.files:
        meta, rows = episodes(path)
        name = os.path.relpath(path, ROOT) if os.path.abspath(path).startswith(ROOT) else path
        share = np.array([r["flipped_share"] for r in rows])
        n_flip = int(sum(r["first_flip"] is not None for r in rows))
        n_most = int((share > 0.5).sum())
        rets = np.array([r["return"] for r in rows])
        lines += [f"## `{name}` — {meta['env']} ({meta.get('backend')}), {len(rows)} episodes, return "
                  f"{rets.mean():.0f} ± {rets.std():.0f}", "",
                  f"{n_most} of {len(rows)} episodes spend most of their steps flipped; {n_flip} pass a quarter turn at "
                  f"least once; {share.mean():.0%} of all steps flipped.", "",
                  "| episode | return | length | first flip (step) | steps flipped | pitch range (turns) | reward/step upright | flipped |",
                  "|---|---|---|---|---|---|---|---|"]
        for i, r in enumerate(rows):
            lines.append(f"| {i} | {r['return']:.0f} | {r['length']} | {_f(r['first_flip'], '{}')} | "
                         f"{r['flipped_share']:.0%} | {r['turns']:.2f} | {_f(r['reward_upright'])} | "
                         f"{_f(r['reward_flipped'])} |")
        lines.append("")
        print(f"{name}: {n_most}/{len(rows)} episodes mostly flipped, {n_flip}/{len(rows)} pass a quarter turn, "
              f"{share.mean():.0%} of steps flipped")
    report.write(args.output, lines)


if __name__ == "__main__":
    main()
