"""Command-line jobs: each module has ``main(config_path, overrides) -> dict`` used by ``jaxirl.cli``."""

from __future__ import annotations

import sys
from typing import Sequence


def chunk_lengths(start: int, total: int, chunk: int, aligned: bool = False) -> list[int]:
    """The lengths of the jitted chunks that take a run from iteration ``start`` to ``total``: ``chunk`` each, the
    last one shorter if need be; ``aligned``: chunks end on multiples of ``chunk`` (the expert job's)."""
    lengths, i = [], start
    while i < total:
        n = min(chunk - i % chunk if aligned else chunk, total - i)
        lengths.append(n)
        i += n
    return lengths


def note_extra_compiles(job: str, lengths: Sequence[int], key: str, total_key: str) -> None:
    """One line on stderr when the chunks are not all of one length: each other length compiles the whole training
    program again (the chunk length is static), which on a Brax env costs about as long as the first compile."""
    distinct = sorted(set(lengths), reverse=True)
    if len(distinct) > 1:
        print(f"jaxirl {job}: note: this run's chunks have {len(distinct)} lengths ({', '.join(map(str, distinct))} "
              f"iterations) and each length compiles the training program once (a {key} that divides {total_key} "
              f"avoids it)", file=sys.stderr)
