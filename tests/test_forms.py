import math
from fractions import Fraction

import flint
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from lcn import forms
from lcn.errors import ExactnessError, FilterError, ParseError

small_ints = st.lists(st.integers(-6, 6), min_size=1, max_size=7)


def test_parse_numbers_exactly() -> None:
    assert forms.parse_number("1/3") == flint.fmpq(1, 3)
    assert forms.parse_number("-0.25") == flint.fmpq(-1, 4)
    assert forms.parse_number("0.1") == flint.fmpq(1, 10)
    assert forms.parse_number("1e-3") == flint.fmpq(1, 1000)
    assert forms.parse_vector("1, -2, 3/4") == [flint.fmpq(1), flint.fmpq(-2), flint.fmpq(3, 4)]
    with pytest.raises(ParseError):
        forms.parse_number("abc")
    with pytest.raises(ParseError):
        forms.parse_number("1/0")
    with pytest.raises(FilterError):
        forms.parse_number("nan")
    with pytest.raises(ParseError):
        forms.parse_vector("")
    with pytest.raises(ParseError):
        forms.parse_vector("1,,2")


def test_exactness_is_detected_and_floats_refused() -> None:
    assert forms.is_exact_input([1, Fraction(1, 2), "3/4", flint.fmpq(1, 5)])
    assert not forms.is_exact_input([1, 2.0])
    assert not forms.is_exact_input(np.array([1, 2]))
    with pytest.raises(ExactnessError, match="numerical API"):
        forms.as_exact([1, 0.5])
    with pytest.raises(ExactnessError):
        forms.as_exact(np.array([0.5, 1.0]))


@given(small_ints, small_ints)
def test_multiply_is_polynomial_product(a: list[int], b: list[int]) -> None:
    # oracle: integer convolution by numpy (coefficients of x^d..y^d multiply like sequences)
    expect = np.convolve(np.array(a, dtype=np.int64), np.array(b, dtype=np.int64))
    exact = forms.multiply(forms.as_exact(a), forms.as_exact(b))
    assert [int(c) for c in exact] == expect.tolist()
    approx = forms.multiply(np.array(a, float), np.array(b, float))
    np.testing.assert_allclose(approx, [float(c) for c in exact])


@given(small_ints, st.integers(1, 4), st.integers(-3, 3), st.integers(-3, 3))
def test_upsample_is_pi_S(w: list[int], S: int, x: int, y: int) -> None:
    # pi_S(w)(x, y) = sum_j w_j x^{S(k-1-j)} y^{Sj} = pi_1(w)(x^S, y^S)
    up = forms.upsample(forms.as_exact(w), S)
    assert len(up) == S * (len(w) - 1) + 1
    k = len(w)
    direct = sum(wj * x ** (S * (k - 1 - j)) * y ** (S * j) for j, wj in enumerate(w))
    assert forms.evaluate(up, x, y) == direct
    assert forms.evaluate(np.array(w, float), float(x**S), float(y**S)) == pytest.approx(direct)
    np.testing.assert_array_equal(forms.upsample(np.array(w, float), S), [float(c) for c in up])


def test_batched_float_ops() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3))
    b = rng.standard_normal((4, 2))
    ab = forms.multiply(a, b)
    for i in range(4):
        np.testing.assert_allclose(ab[i], np.convolve(a[i], b[i]))
    np.testing.assert_allclose(forms.evaluate(a, 2.0, 1.0), a @ np.array([4.0, 2.0, 1.0]))


def test_roots_exact_with_multiplicities_and_infinity() -> None:
    # F = y^2 (x - 2y)^3 (x^2 + y^2): root [1:0] twice, t=2 three times, +-i once
    t = flint.fmpq_poly([-2, 1]) ** 3 * flint.fmpq_poly([1, 0, 1])
    F = [flint.fmpq(0), flint.fmpq(0)] + forms.from_fmpq_poly(t, 5)
    rs = forms.roots(F)
    assert sum(r.multiplicity for r in rs) == 7
    inf = [r for r in rs if r.at_infinity]
    assert len(inf) == 1 and inf[0].multiplicity == 2
    two = [r for r in rs if not r.at_infinity and r.is_real]
    assert len(two) == 1 and two[0].multiplicity == 3 and two[0].value == pytest.approx(2)
    assert sum(1 for r in rs if not r.is_real) == 2
    assert forms.real_root_count(F) == 5


def test_roots_worked_examples() -> None:
    assert forms.real_root_count([1, 0, 0, 0, 4]) == 0  # x^4 + 4y^4
    assert forms.real_root_count([1, 0, 0, 0, -4]) == 2  # x^4 - 4y^4
    with pytest.raises(FilterError, match="zero form"):
        forms.roots([0, 0, 0])


@settings(max_examples=50)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=5), st.integers(0, 2))
def test_exact_real_root_count_matches_construction(real_roots: list[int], pairs: int) -> None:
    # oracle: build the form from chosen roots and count them
    p = flint.fmpq_poly([1])
    for r in real_roots:
        p *= flint.fmpq_poly([-r, 1])
    for j in range(pairs):
        p *= flint.fmpq_poly([j + 1, 0, 1])
    F = forms.from_fmpq_poly(p, p.degree())
    assert forms.real_root_count(F) == len(real_roots)


def test_float_roots_match_numpy() -> None:
    F = np.array([0.0, 1.0, -3.0, 2.0])  # y (x - y)(x - 2y)
    rs = forms.roots(F, tol=1e-12)
    assert sum(r.at_infinity for r in rs) == 1
    finite = sorted(r.value.real for r in rs if not r.at_infinity)
    assert finite == pytest.approx([1.0, 2.0])


@given(small_ints)
def test_sympy_roundtrip(c: list[int]) -> None:
    x, y = sympy.symbols("x y")
    F = forms.as_exact([*c, 1])
    P = forms.to_sympy(F, x, y)
    assert P.is_homogeneous
    back = forms.from_sympy(P)
    assert back == F
    # direct evaluation agrees
    assert P.eval({x: 2, y: 3}) == int(forms.evaluate(F, 2, 3))


def test_from_sympy_rejects_bad_polys() -> None:
    x, y, z = sympy.symbols("x y z")
    with pytest.raises(FilterError, match="homogeneous"):
        forms.from_sympy(sympy.Poly(x**2 + y, x, y))
    with pytest.raises(FilterError, match="two"):
        forms.from_sympy(sympy.Poly(x + y + z, x, y, z))
    out = forms.from_sympy(sympy.Poly(sympy.Float(0.5) * x + y, x, y))
    assert isinstance(out, np.ndarray) and math.isclose(out[0], 0.5)


# ---------------------------------------------------------------------------------------------
# hostile numbers (issue 15): lcn errors, never the interpreter's ValueError/OverflowError
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["1" * 5000, "-" + "9" * 4500, "1/" + "3" * 4400,
                                  "7" * 4100 + "/3", "1" * 9000 + ".5"])
def test_over_long_integers_are_refused(text: str) -> None:
    with pytest.raises(ParseError, match="4000 digits|characters"):
        forms.parse_number(text, "filter")


@pytest.mark.parametrize("text", ["1e400", "-2.5E+301", "1e-400", "3e99999999"])
def test_huge_decimal_exponents_are_refused(text: str) -> None:
    with pytest.raises(FilterError, match="exponent"):
        forms.parse_number(text, "filter")


def test_numbers_within_the_limits_stay_exact() -> None:
    assert forms.parse_number("1" * 4000) == flint.fmpq(int("1" * 4000))
    assert forms.parse_number("1e300") == flint.fmpq(10**300)
    assert forms.parse_number("25e-301") == flint.fmpq(1, 4 * 10**299)
    assert forms.parse_number("0e99999999") == 0  # zero is zero whatever its exponent
    assert forms.parse_vector("1e3,-1/3, 0.5") == [1000, flint.fmpq(-1, 3), flint.fmpq(1, 2)]


def test_float_coercion_of_huge_values() -> None:
    with pytest.raises(FilterError, match="float64"):
        forms.as_float([1, 10**400])
    with pytest.raises(FilterError, match="float64"):
        forms.as_float([flint.fmpq(10**400, 3)])
    exact = forms.as_exact([10**5000, flint.fmpq(1, 10**5000)])  # ints are exact, any size
    assert exact[0] * exact[1] == 1


def test_upsample_checks_its_factor() -> None:
    with pytest.raises(FilterError, match="S"):
        forms.upsample([flint.fmpq(1)], 0)
    with pytest.raises(FilterError, match="S"):
        forms.upsample(np.ones(3), 2.5)
    with pytest.raises(FilterError, match="limit"):
        forms.upsample(np.ones(3), 10**12)  # refused before allocating 10^12 taps
    assert forms.upsample(np.ones(2), 3).tolist() == [1, 0, 0, 1]
