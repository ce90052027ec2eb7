import math
import random
import time

import pytest
from hypothesis import given

from lcn import Architecture
from lcn import architecture as facts
from lcn.errors import ArchitectureError, LCNError, ParseError

from .strategies import architectures


def test_running_example() -> None:
    a = Architecture((3, 2), (2, 1))
    assert a.layers == 2
    assert a.d == (2, 1)
    assert a.S == (1, 2)
    assert a.degree == 4
    assert a.filter_size == 5
    assert a.stride == 2
    assert a.parameters == 5
    assert a.dimension == 4
    assert a.is_reduced and not a.full_dimensional
    assert a.reduced() == a


def test_parse_strings_and_defaults() -> None:
    assert Architecture("3,2", "2,1") == Architecture([3, 2], (2, 1))
    assert Architecture.parse(" 3, 2 ", "2,1") == Architecture((3, 2), (2, 1))
    assert Architecture("3,3").s == (1, 1)
    assert hash(Architecture("3,2", "2,1")) == hash(Architecture((3, 2), (2, 1)))


def test_immutable() -> None:
    a = Architecture((3, 2), (2, 1))
    with pytest.raises(AttributeError):
        a.k = (1,)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("k", "s", "arg"),
    [
        ((), (), "k"),
        ("", None, "k"),
        ((3, 2), (1,), "s"),
        ((3, 0), (1, 1), "k"),
        ((3, -2), (1, 1), "k"),
        ((3, 2), (0, 1), "s"),
        ((3, 2.5), (1, 1), "k"),
        (("a", 2), (1, 1), "k"),
        ("3,x", "1,1", "k"),
        ("3,2", "2;1", "s"),
        ((True, 2), (1, 1), "k"),
        (3, 1, "k"),
    ],
)
def test_bad_architectures(k: object, s: object, arg: str) -> None:
    with pytest.raises((ArchitectureError, ParseError)) as exc:
        Architecture(k, s)
    assert exc.value.argument == arg
    assert isinstance(exc.value, LCNError)


def test_reduced_merges_equal_S_and_keeps_last_stride() -> None:
    a = Architecture((2, 2, 3, 2), (1, 2, 1, 3))
    # S = (1, 1, 2, 2): layers 1-2 and 3-4 merge
    assert a.S == (1, 1, 2, 2)
    assert a.blocks() == ((0, 1), (2, 3))
    r = a.reduced()
    assert r == Architecture((3, 4), (2, 3))
    assert not a.is_reduced and r.is_reduced
    assert r.S == (1, 2)


def test_layer_sizes() -> None:
    a = Architecture((3, 2), (2, 1))
    # n_1 = 1*(3-1)+2 = 4, n_0 = 2*(4-1)+3 = 9
    assert a.layer_sizes(3) == (9, 4, 3)
    with pytest.raises(ArchitectureError):
        a.layer_sizes(0)


@given(architectures())
def test_derived_quantities_agree_with_definitions(a: Architecture) -> None:
    assert a.S[0] == 1
    for i in range(1, a.layers):
        assert a.S[i] == a.S[i - 1] * a.s[i - 1]
    assert a.degree == sum((k - 1) * S for k, S in zip(a.k, a.S, strict=True))
    assert a.stride == math.prod(a.s)
    assert a.dimension == sum(a.k) - (a.layers - 1)
    sizes = a.layer_sizes(4)
    # the end-to-end map is a convolution of stride s_1..s_L with d+1 taps
    assert sizes[0] == a.stride * (4 - 1) + a.filter_size
    r = a.reduced()
    assert (r.degree, r.stride, r.dimension) == (a.degree, a.stride, a.dimension)
    assert r.is_reduced
    assert len(set(r.S)) == r.layers
    assert set(r.S) == set(a.S)
    assert a.full_dimensional == (a.dimension == a.filter_size)


# ---------------------------------------------------------------------------------------------
# facts that depend only on (k, s): ED degree, codimension, size guards (MATH.md 3-4, 9)
# ---------------------------------------------------------------------------------------------
# the counts of MATH.md 9 (msolve, PHCpack and bertini2 counts on the LCN loss)
ED_COUNTS = {(2, 2): 6, (3, 2): 10, (3, 3): 39, (2, 2, 2): 34, (4, 4): 284, (2, 2, 2, 2): 280,
             (3, 3, 3): 2385}


@pytest.mark.parametrize(("k", "count"), ED_COUNTS.items())
def test_ed_degree_matches_published_counts(k: tuple[int, ...], count: int) -> None:
    assert Architecture(k).ed_degree == count
    assert facts.ed_degree(Architecture(k, [2] * len(k))) == count  # strides do not enter


def test_ed_degree_two_factors_closed_form() -> None:
    """``P^1 x P^{n-1}`` (2 x n rank-one matrices, generic weights): ``4n - 2``; and the
    DHOST formula reduces to ``sum_a (-1)^a C(n+1, a)(2^{n+1-a} - 1) = 1`` for one factor."""
    for n in range(2, 30):
        assert Architecture((2, n)).ed_degree == 4 * n - 2
        assert Architecture((n,)).ed_degree == 1


@given(architectures(max_layers=4, max_k=5, max_degree=60))
def test_ed_degree_is_symmetric_and_drops_size_one_layers(a: Architecture) -> None:
    rev = Architecture(tuple(reversed(a.k)), a.s)
    assert a.ed_degree == rev.ed_degree
    big = [k for k in a.k if k > 1]
    assert a.ed_degree == (Architecture(big).ed_degree if big else 1)
    with_one = Architecture((*a.k, 1), (*a.s, 1))
    assert with_one.ed_degree == a.ed_degree


def _groebner_count(k: tuple[int, ...], s: tuple[int, ...], seed: int = 1) -> int:
    """Complex critical points of the Gram loss ``(mu(w) - u)^T G (mu(w) - u)`` for random
    integer ``G`` (positive definite) and ``u``, modulo rescaling (``w_1[0] = 1``), with the
    last layer nonzero (``z w_L[0] = 1`` excludes the isolated zero-filter solutions), counted
    by a lex Groebner basis mod a prime (shape position: the degree of the last polynomial)."""
    sympy = pytest.importorskip("sympy")
    rng = random.Random(seed)
    t, z = sympy.Symbol("t"), sympy.Symbol("z")
    S = Architecture(k, s).S
    ws, unknowns = [], []
    for i, ki in enumerate(k):
        w = [sympy.Symbol(f"w{i}_{j}") for j in range(ki)]
        if i == 0:
            w[0] = sympy.Integer(1)
        unknowns += [x for x in w if isinstance(x, sympy.Symbol)]
        ws.append(w)
    P = sympy.Poly(sympy.expand(math.prod(
        sum(w[j] * t ** (Si * (len(w) - 1 - j)) for j in range(len(w)))
        for w, Si in zip(ws, S, strict=True))), t)
    d = P.degree()
    r = sympy.Matrix([P.coeff_monomial(t ** (d - j)) - rng.randint(-20, 20) for j in range(d + 1)])
    A = sympy.Matrix(d + 1, d + 1, lambda i, j: rng.randint(-9, 9))
    loss = sympy.expand((r.T * (A.T * A + sympy.eye(d + 1)) * r)[0])
    eqs = [sympy.diff(loss, x) for x in unknowns] + [z * ws[-1][0] - 1]
    G = sympy.groebner(eqs, z, *unknowns, order="lex", modulus=32003)
    assert G.is_zero_dimensional
    return int(sympy.Poly(G.exprs[-1], unknowns[-1]).degree())


@pytest.mark.parametrize(("k", "s"), [((2, 2), (1, 1)), ((2, 2), (2, 1))])
def test_ed_degree_against_groebner_count(k: tuple[int, ...], s: tuple[int, ...]) -> None:
    assert _groebner_count(k, s) == Architecture(k, s).ed_degree


@pytest.mark.slow
@pytest.mark.parametrize(("k", "s"), [((3, 2), (2, 1)), ((3, 2), (1, 1))])
def test_ed_degree_against_groebner_count_slow(k: tuple[int, ...], s: tuple[int, ...]) -> None:
    assert _groebner_count(k, s) == Architecture(k, s).ed_degree


@given(architectures())
def test_codimension_and_hypersurface(a: Architecture) -> None:
    assert a.codimension == a.filter_size - a.dimension >= 0
    assert a.is_hypersurface == (a.codimension == 1)
    assert (a.codimension == 0) == a.full_dimensional


def test_known_hypersurfaces() -> None:
    # MATH.md 9: p0 p3 - p1 p2 (a quadric) and a cubic in P^4
    for k, s, deg in (((2, 2), (2, 1), 2), ((3, 2), (2, 1), 3)):
        a = Architecture(k, s)
        assert a.is_hypersurface and a.closure_degree == deg
    assert not Architecture((3, 3), (2, 1)).is_hypersurface  # codimension 2 in P^6


def test_to_dict_new_keys() -> None:
    dct = Architecture((3, 3), (2, 1)).to_dict()
    assert dct["ed_degree"] == 39 and dct["codimension"] == 2 and dct["hypersurface"] is False


def test_huge_architectures_answer_fast_or_refuse() -> None:
    """Issue 15: ``describe --k 10000000`` computed a factorial for minutes."""
    start = time.perf_counter()
    a = Architecture((10**7,))
    dct = a.to_dict()
    assert dct["closure_degree"] == 1 and dct["ed_degree"] == 1 and dct["codimension"] == 0
    b = Architecture((3 * 10**6, 3 * 10**6), (2, 1))  # C(6e6, 3e6) has 1.8 million digits
    with pytest.raises(ArchitectureError, match="digits"):
        _ = b.closure_degree
    with pytest.raises(ArchitectureError, match="k"):
        _ = b.ed_degree
    dct = b.to_dict()
    assert dct["closure_degree"] is None and dct["ed_degree"] is None
    assert dct["singular_components"] is None and dct["codimension"] == 3 * 10**6 - 1
    c = Architecture((1500, 1500))  # m = 2998: the ED sum's work is refused, not run
    assert c.to_dict()["ed_degree"] is None
    assert time.perf_counter() - start < 2.0
    assert Architecture((2, 600)).ed_degree == 4 * 600 - 2  # a large case that is allowed


@pytest.mark.parametrize("arch", [((3, 2), (2, 1)), "k=3,2 s=2,1", ("3,2", "2,1"),
                                  Architecture((3, 2), (2, 1))])
def test_fact_functions_take_any_architecture_argument(arch: object) -> None:
    assert facts.closure_degree(arch) == 3 and facts.ed_degree(arch) == 10
    assert facts.singular_components(arch) == [(0, 2)] and not facts.is_filling(arch)
    assert facts.boundary_kinds(arch) == {"stride1": False, "reduced": True}
    assert not facts.is_closed(arch)


@pytest.mark.parametrize("bad", [3, "k=3,x", ((3, 2),), None, ((3, 0), (1, 1))])
def test_fact_functions_refuse_bad_architectures(bad: object) -> None:
    with pytest.raises((ArchitectureError, ParseError)):
        facts.closure_degree(bad)
