"""A tour of the function-space geometry of k=(3,2), s=(2,1) (MATH.md 3-7).

    python examples/geometry_tour.py
"""

import numpy as np

from lcn import Architecture, mu
from lcn.geometry import classify, is_regular, membership, nearest

arch = Architecture("3,2", "2,1")
print(f"{arch}: degree {arch.degree}, dimension {arch.dimension}, closure degree "
      f"{arch.closure_degree}, singular components {arch.singular_components}")

# exact decisions (MATH.md 4): x^4 - 4y^4 is in M, x^4 + 4y^4 only in the closure
for text, F in (("x^4 - 4y^4", [1, 0, 0, 0, -4]), ("x^4 + 4y^4", [1, 0, 0, 0, 4])):
    m = membership(arch, F)
    print(f"{text}: in closure {m.in_closure}, in M {m.in_function_space}, "
          f"{m.classification} {m.singular_component or ''}, factorization "
          f"({m.factorization_kind}) {m.factorization}")

# a random product is a member with a rational factorization; its parameters are regular
w = [[1, -2, 3], ["1/2", 5]]
F = mu(arch, w)
m = membership(arch, F)
print(f"mu({w}) = {F}: {m.classification}, regular point of mu: {is_regular(arch, w)}")

# float filters (MATH.md 6): nearest point, tolerant classification
rng = np.random.default_rng(0)
g = np.array([float(c) for c in F]) + 1e-6 * rng.standard_normal(arch.filter_size)
near = nearest(arch, g)
print(f"noisy member: distance {near.distance:.2e} (noise 1e-6), gradient {near.grad_norm:.1e}")
print(f"classify at tol 1e-4: {classify(arch, g, tol=1e-4).category}; "
      f"at tol 1e-9: {classify(arch, g, tol=1e-9).category}")
