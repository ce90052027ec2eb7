"""The plan of an experiment: its chunks (the units of work committed to the store one
transaction each) and the seeds derived for them."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from lcn.experiment.config import ExperimentConfig

__all__ = ["Chunk", "derive_seed", "plan_chunks"]


@dataclass(frozen=True)
class Chunk:
    """One unit of work, written to the store in one transaction.

    ``task = "train"``: runs ``first .. first+count-1`` of the architecture (run ``r`` trains on
    dataset ``r // inits``), ``part`` numbers the chunk. ``task = "search"`` with ``method =
    "newton"``: the search of dataset ``part`` from ``count`` starts (one chunk per dataset, so
    the deduplication of the critical points of one loss is complete); with ``method =
    "homotopy"``: the complete critical sets of datasets ``first .. first+count-1`` (one
    batched solve, ``search.chunk`` datasets per chunk).
    """

    arch: str
    task: str
    part: int
    first: int
    count: int
    method: str = "newton"

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.arch, self.task, self.part)

    @property
    def label(self) -> str:
        if self.task == "train":
            return f"train runs {self.first}-{self.first + self.count - 1}"
        if self.method == "homotopy":
            return f"homotopy datasets {self.first}-{self.first + self.count - 1}"
        return f"search dataset {self.part}"

    @property
    def datasets(self) -> range:
        """The datasets a search chunk covers."""
        if self.method == "homotopy":
            return range(self.first, self.first + self.count)
        return range(self.part, self.part + 1)


def plan_chunks(config: ExperimentConfig) -> list[Chunk]:
    """All chunks of an experiment in the order they run: architecture by architecture, the
    trainings (batched across datasets, ``training.chunk`` runs per chunk), then the searches
    (Newton: one chunk per dataset, none when ``starts = 0`` unless the Gram matrix is
    rank-deficient; homotopy: ``search.chunk``
    datasets per chunk). Call :func:`lcn.experiment.check_budget` first for configs you did
    not write: the list has one entry per chunk."""
    out: list[Chunk] = []
    for a in config.architectures:
        total = a.datasets * a.inits
        for part, first in enumerate(range(0, total, config.chunk)):
            out.append(Chunk(a.name, "train", part, first, min(config.chunk, total - first)))
        if a.method == "homotopy":
            step = config.search_chunk
            out.extend(Chunk(a.name, "search", part, first, min(step, a.datasets - first),
                             "homotopy")
                       for part, first in enumerate(range(0, a.datasets, step)))
        elif a.starts > 0 or a.gram_rank_deficient:
            # rank-deficient data: the chunk also computes the exact singular critical points
            out.extend(Chunk(a.name, "search", j, 0, a.starts) for j in range(a.datasets))
    return out


def derive_seed(seed: int, *parts: Any) -> int:
    """A 31-bit seed from the experiment seed and a path of labels (stable across runs and
    machines: CRC32 of strings, NumPy ``SeedSequence`` mixing)."""
    words = [seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF]
    for p in parts:
        words.append(zlib.crc32(p.encode()) if isinstance(p, str) else int(p) & 0xFFFFFFFF)
    state = np.random.SeedSequence(words).generate_state(1, dtype=np.uint32)[0]
    return int(state) & 0x7FFFFFFF
