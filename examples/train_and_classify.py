"""The library calls behind `lcn experiment`, for one architecture and one dataset.

    python examples/train_and_classify.py [K] [S]      # default: K=3,2 S=2,1

1. a Gaussian dataset with N = d + 1 samples and its quadratic (Gram) form (MATH.md 8);
2. 100 gradient-descent runs, batched in one torch computation, polished by Newton steps;
3. a critical-point search: Newton on grad L = 0 from 20 random starts, deduplicated;
4. the classification of every point found (zero / pure smooth interior / singular /
   boundary / spurious, MATH.md 5-8).

For a reduced architecture with strides > 1 (the default) every non-zero point should be
pure smooth interior; try `3,2,2 1,1,1` (stride one, not filling) to see boundary and
spurious points.
"""

from __future__ import annotations

import sys
from collections import Counter

from lcn import Architecture
from lcn.critical import classify_critical_points
from lcn.training import critical_points, gaussian_dataset, gram_form, train


def main() -> None:
    k = sys.argv[1] if len(sys.argv) > 1 else "3,2"
    s = sys.argv[2] if len(sys.argv) > 2 else "2,1"
    arch = Architecture.parse(k, s)
    print(f"{arch}: degree d = {arch.degree}, dim M = {arch.dimension}, reduced: {arch.is_reduced}")

    data = gaussian_dataset(arch, n_out=1, N=arch.degree + 1, seed=0)
    gram = gram_form(arch, data)  # l(v) = (v-u)^T G (v-u) + c: training never touches X again

    runs = train(arch, gram, runs=100, steps=2000, seed=1)
    ok = runs.converged
    print(f"gradient descent ({runs.backend} step): {ok.sum()} of {runs.runs} runs reached "
          "relative gradient 1e-10")
    infos = classify_critical_points(arch, gram, runs.params[ok])
    print("  GD limits:", dict(Counter(info.category for info in infos)))

    found = critical_points(arch, gram, starts=20, seed=2)
    print(f"search: {len(found)} distinct critical points from {found.starts} starts")
    for info, loss, hits in zip(
        classify_critical_points(arch, gram, found.params), found.loss, found.count, strict=True
    ):
        print(
            f"  loss {loss:10.6f}  {info.category:22s} Morse index {info.morse_index}"
            f"  regular {info.regular}  location {info.location:16s} reached {hits}x"
        )


if __name__ == "__main__":
    main()
