"""Binary forms as coefficient vectors (MATH.md 2).

A binary form ``F`` of degree ``d`` is stored as its coefficient vector
``(c_0, ..., c_d)`` ordered ``x^d, x^{d-1} y, ..., y^d``, so that a filter ``w`` *is* the
coefficient vector of ``pi_1(w)`` and products of forms are convolutions of vectors.

Three coefficient kinds are supported:

* **float**: NumPy arrays, batched over leading axes (shape ``(..., d+1)``);
* **exact**: lists of python-flint ``fmpq`` built from ints, ``Fraction``s, ``fmpq``/``fmpz`` or
  strings (``"3"``, ``"-1/3"``, ``"0.25"``; a decimal string is read as the exact fraction it
  spells);
* **SymPy**: :func:`to_sympy` / :func:`from_sympy` convert to and from ``sympy.Poly`` in ``x, y``.

Roots live on the projective line: ``[t : 1]`` for finite ``t = x/y`` and ``[1 : 0]`` (``t = inf``)
when the leading coefficient ``c_0`` vanishes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import flint
import numpy as np
from numpy.typing import ArrayLike, NDArray

from lcn._validate import MAX_INT_DIGITS, check_int, check_size
from lcn.errors import ExactnessError, FilterError, ParseError

__all__ = [
    "Root",
    "ExactForm",
    "is_exact_input",
    "as_float",
    "as_exact",
    "parse_number",
    "parse_vector",
    "parse_filters",
    "upsample",
    "multiply",
    "product",
    "evaluate",
    "to_fmpq_poly",
    "from_fmpq_poly",
    "to_sympy",
    "from_sympy",
    "roots",
    "real_root_count",
    "exact_to_json",
]

ExactForm = list[flint.fmpq]

_FRACTION = re.compile(r"^[+-]?\d+\s*/\s*[+-]?\d+$")
_INTEGER = re.compile(r"^[+-]?\d+$")

#: Largest decimal exponent accepted in a number such as ``"1e300"``: beyond it the value
#: leaves the range of float64 that the numerical path and the reports share.
MAX_DECIMAL_EXPONENT = 300


# --------------------------------------------------------------------------------------------
# Parsing and coercion
# --------------------------------------------------------------------------------------------
def parse_number(text: str, argument: str = "value") -> flint.fmpq:
    """Parse one number exactly: integers, fractions ``p/q`` and decimal strings (``"0.1"`` is
    ``1/10``, ``"1e-3"`` is ``1/1000``) become ``fmpq``; ``nan``/``inf`` are refused."""
    if not isinstance(text, str):
        raise ParseError(argument, f"is {type(text).__name__}; give a string like '1/3'")
    t = text.strip()
    if not t:
        raise ParseError(argument, "contains an empty entry; write numbers like 1, -2, 1/3, 0.25")
    if len(t) > 2 * MAX_INT_DIGITS + 8:  # before any int(): the interpreter's limit is 4300
        raise ParseError(argument, f"has an entry of {len(t)} characters; numbers may have "
                         f"at most {MAX_INT_DIGITS} digits")
    if _FRACTION.match(t) or _INTEGER.match(t):
        parts = [u.strip() for u in t.split("/")] + ["1"]
        if any(len(u.lstrip("+-")) > MAX_INT_DIGITS for u in parts):
            raise ParseError(argument, f"has an integer or fraction with more than "
                             f"{MAX_INT_DIGITS} digits; give shorter numbers")
        num, den = (int(u) for u in parts[:2])
        if den == 0:
            raise ParseError(argument, f"entry {t!r} divides by zero")
        return flint.fmpq(num, den)
    try:
        dec = Decimal(t)
    except InvalidOperation:
        raise ParseError(
            argument, f"cannot parse {t!r}; write numbers like 1, -2, 1/3, 0.25"
        ) from None
    if not dec.is_finite():
        raise FilterError(argument, f"entry {t!r} is not finite; entries must be finite numbers")
    if dec == 0:
        return flint.fmpq(0)
    digits = len(dec.as_tuple().digits)
    if abs(dec.adjusted()) > MAX_DECIMAL_EXPONENT or digits > MAX_INT_DIGITS:
        raise FilterError(argument, f"entry {t[:40]!r} has a decimal exponent beyond "
                          f"+-{MAX_DECIMAL_EXPONENT} or more than {MAX_INT_DIGITS} digits; write "
                          "it as an integer or a fraction p/q if you mean that exact value")
    fr = Fraction(dec)
    return flint.fmpq(fr.numerator, fr.denominator)


def parse_vector(text: str, argument: str = "filter") -> list[flint.fmpq]:
    """Parse ``"1,2,-1/3"`` into an exact vector (every entry exact, see :func:`parse_number`)."""
    if not isinstance(text, str) or not text.strip():
        raise ParseError(argument, "is empty; give comma-separated numbers like '1,0,-1/2'")
    parts = [p for p in text.split(",")]
    if parts and not parts[-1].strip():
        parts = parts[:-1]
    return [_exact_entry(parse_number(p, argument), argument, i) for i, p in enumerate(parts)]


def parse_filters(text: str, argument: str = "filters") -> list[list[flint.fmpq]]:
    """Parse ``"1,2,3;4,5"`` (layers separated by ``;``) into exact vectors."""
    if not isinstance(text, str) or not text.strip():
        raise ParseError(argument, "is empty; give one filter per layer like '1,2,3;4,5'")
    return [parse_vector(p, f"{argument} (layer {i + 1})") for i, p in enumerate(text.split(";"))]


def _exact_entry(v: Any, argument: str, index: int) -> flint.fmpq:
    if isinstance(v, flint.fmpq):
        return v
    if isinstance(v, bool):
        raise FilterError(argument, f"entry {index} is a bool; entries must be numbers")
    if isinstance(v, int | flint.fmpz | np.integer):
        return flint.fmpq(int(v))
    if isinstance(v, Fraction):
        return flint.fmpq(v.numerator, v.denominator)
    if isinstance(v, str):
        return _exact_entry(parse_number(v, argument), argument, index)
    if isinstance(v, float | np.floating):
        raise ExactnessError(
            argument,
            f"entry {index} is the float {v!r}; the exact path takes ints, Fractions or strings "
            "like '1/3' - pass floats to the numerical API (lcn.geometry.nearest / classify)",
        )
    raise FilterError(argument, f"entry {index} is {v!r}; entries must be numbers")


def is_exact_input(x: Any) -> bool:
    """True when ``x`` (a vector, or a sequence of vectors) holds only exact entries: Python
    ints, ``Fraction``, ``fmpq``/``fmpz`` or strings. NumPy arrays are always numerical."""
    if isinstance(x, np.ndarray):
        return False
    if isinstance(x, str):
        return True
    if isinstance(x, Sequence):
        if len(x) == 0:
            return True
        return all(is_exact_input(v) for v in x)
    return isinstance(x, int | Fraction | flint.fmpq | flint.fmpz) and not isinstance(x, bool)


def as_exact(x: Any, argument: str = "filter") -> ExactForm:
    """Coerce one vector to a list of ``fmpq`` (refusing floats with :class:`ExactnessError`)."""
    if isinstance(x, str):
        return parse_vector(x, argument)
    if isinstance(x, np.ndarray):
        if np.issubdtype(x.dtype, np.integer):
            x = x.tolist()
        else:
            raise ExactnessError(
                argument,
                "is a floating-point array; give ints, Fractions or strings like '1/3' for the "
                "exact path, or use the numerical API (lcn.geometry.nearest / classify)",
            )
    if not isinstance(x, Sequence) or len(x) == 0:
        raise FilterError(argument, "must be a non-empty sequence of numbers")
    return [_exact_entry(v, argument, i) for i, v in enumerate(x)]


def as_float(x: ArrayLike, argument: str = "filter", min_ndim: int = 1) -> NDArray[np.float64]:
    """Coerce to a float64 array of at least ``min_ndim`` dims, refusing NaN/inf and
    non-numeric entries with a :class:`FilterError` naming ``argument``."""
    if isinstance(x, str):
        x = [float(v) for v in parse_vector(x, argument)]
    try:
        if isinstance(x, Sequence) and not isinstance(x, np.ndarray):
            x = [float(v) if isinstance(v, flint.fmpq) else v for v in x]
        complex_ = np.iscomplexobj(x)
        arr = np.asarray(x, dtype=np.float64) if not complex_ else np.zeros(0)
    except OverflowError:
        raise FilterError(argument, "has an entry too large for float64 (above 1.8e308); "
                          "use the exact path (ints, fractions) for such values") from None
    except (TypeError, ValueError):
        raise FilterError(argument, "must be an array of real numbers") from None
    if complex_:
        # np.asarray(..., float64) would drop the imaginary parts with only a warning
        raise FilterError(argument, "has complex entries; filters are real (pass the real "
                          "part explicitly if that is what you mean)")
    if arr.ndim < min_ndim:
        raise FilterError(argument, f"must have at least {min_ndim} dimension(s)")
    if arr.shape[-1] == 0:
        raise FilterError(argument, "is empty; a filter needs at least one tap")
    if not np.all(np.isfinite(arr)):
        raise FilterError(argument, "contains NaN or inf; entries must be finite")
    return arr


# --------------------------------------------------------------------------------------------
# Algebra
# --------------------------------------------------------------------------------------------
def upsample(w: Any, S: int) -> Any:
    """``pi_S``: the coefficient vector of ``pi_S(w) = sum_j w_j x^{S(k-1-j)} y^{Sj}``, i.e. ``w``
    with ``S-1`` zeros inserted between taps (MATH.md 2). Float input is batched over leading
    axes; exact input (list of ``fmpq``) stays exact."""
    S = check_int(S, "S", min=1, error=FilterError)
    k = w.shape[-1] if isinstance(w, np.ndarray) else len(w)
    check_size(S * max(k - 1, 0) + 1, "S", what="taps", error=FilterError)
    if isinstance(w, np.ndarray):
        out = np.zeros((*w.shape[:-1], S * (k - 1) + 1), dtype=w.dtype)
        out[..., ::S] = w
        return out
    res = [flint.fmpq(0)] * (S * (k - 1) + 1)
    for j, v in enumerate(w):
        res[S * j] = v
    return res


def multiply(a: Any, b: Any) -> Any:
    """Product of two forms = convolution of their coefficient vectors. Float arrays are
    batched (leading axes broadcast); exact lists use flint polynomial multiplication."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape[-1] < b.shape[-1]:
            a, b = b, a
        batch = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
        out = np.zeros((*batch, a.shape[-1] + b.shape[-1] - 1))
        n = a.shape[-1]
        # loop over the shorter vector's taps: few wide vectorized ops instead of per-row convolve
        for j in range(b.shape[-1]):
            out[..., j : j + n] += a * b[..., j : j + 1]
        return out
    da, db = len(a) - 1, len(b) - 1
    p = to_fmpq_poly(a) * to_fmpq_poly(b)
    return from_fmpq_poly(p, da + db)


def product(forms: Sequence[Any]) -> Any:
    """Product of several forms (see :func:`multiply`)."""
    if len(forms) == 0:
        raise FilterError("forms", "is empty; give at least one form")
    acc = forms[0]
    for f in forms[1:]:
        acc = multiply(acc, f)
    return acc


def evaluate(F: Any, x: Any, y: Any = 1) -> Any:
    """``F(x, y) = sum_j c_j x^{d-j} y^j``. Float forms are batched; exact forms with exact
    ``x, y`` give an exact ``fmpq``."""
    if isinstance(F, np.ndarray):
        d = F.shape[-1] - 1
        j = np.arange(d + 1)
        xa = np.asarray(x)[..., None]
        ya = np.asarray(y)[..., None]
        return np.sum(F * xa ** (d - j) * ya**j, axis=-1)
    d = len(F) - 1
    return sum((c * flint.fmpq(x) ** (d - j) * flint.fmpq(y) ** j for j, c in enumerate(F)),
               flint.fmpq(0))


def to_fmpq_poly(F: Sequence[Any]) -> flint.fmpq_poly:
    """Dehomogenize at ``y = 1``: ``f(t) = F(t, 1)`` as a flint ``fmpq_poly`` (coefficients low
    to high, hence reversed)."""
    return flint.fmpq_poly([flint.fmpq(c) if not isinstance(c, flint.fmpq) else c
                            for c in reversed(list(F))])


def from_fmpq_poly(p: flint.fmpq_poly | flint.fmpz_poly, d: int) -> ExactForm:
    """Homogenize ``p(t)`` to degree ``d`` (``deg p <= d``; missing top degrees become a root at
    infinity)."""
    c = [flint.fmpq(v) for v in p.coeffs()]
    if len(c) > d + 1:
        raise FilterError("d", f"is {d} but the polynomial has degree {len(c) - 1}")
    c += [flint.fmpq(0)] * (d + 1 - len(c))
    return list(reversed(c))


def to_sympy(F: Sequence[Any], x: Any = None, y: Any = None) -> Any:
    """The form as a homogeneous ``sympy.Poly`` in ``x, y`` (exact rationals kept exact)."""
    import sympy

    x = sympy.Symbol("x") if x is None else x
    y = sympy.Symbol("y") if y is None else y
    d = len(F) - 1

    def conv(c: Any) -> Any:
        if isinstance(c, flint.fmpq):
            return sympy.Rational(int(c.p), int(c.q))
        if isinstance(c, float | np.floating):
            return sympy.Float(float(c))
        return sympy.sympify(c)

    expr = sum(conv(c) * x ** (d - j) * y**j for j, c in enumerate(F))
    return sympy.Poly(expr, x, y)


def from_sympy(poly: Any) -> ExactForm | NDArray[np.float64]:
    """Coefficient vector of a homogeneous ``sympy.Poly`` in two generators (exact when its
    coefficients are rational, float otherwise)."""
    import sympy

    if not isinstance(poly, sympy.Poly):
        raise FilterError("poly", "must be a sympy.Poly in two generators")
    if len(poly.gens) != 2:
        raise FilterError("poly", f"has generators {poly.gens}; need exactly two (x, y)")
    if not poly.is_homogeneous:
        raise FilterError("poly", "is not homogeneous; binary forms are homogeneous in x, y")
    d = poly.total_degree()
    coeffs: list[Any] = [0] * (d + 1)
    for (_ex, ey), c in poly.terms():
        coeffs[ey] = c
    if all(sympy.sympify(c).is_Rational for c in coeffs):
        return [flint.fmpq(int(sympy.Rational(c).p), int(sympy.Rational(c).q)) for c in coeffs]
    return np.array([float(c) for c in coeffs])


# --------------------------------------------------------------------------------------------
# Roots on the projective line
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Root:
    """A root ``[t : 1]`` of a binary form, or ``[1 : 0]`` when ``value`` is ``inf``.

    ``multiplicity`` is exact for exact input (flint's certified isolation) and 1 for each
    numerical root of float input. ``is_real`` is certified for exact input. ``enclosure`` is
    the flint ``acb`` ball holding the root (exact input only).
    """

    value: complex
    multiplicity: int
    is_real: bool
    enclosure: Any = None

    @property
    def at_infinity(self) -> bool:
        return math.isinf(self.value.real)


def _leading_zeros(F: Sequence[Any]) -> int:
    n = 0
    for c in F:
        if c != 0:
            break
        n += 1
    return n


def roots(F: Any, tol: float = 0.0) -> list[Root]:
    """Roots of a nonzero binary form on the projective line, counted with multiplicity
    (the multiplicities sum to the degree).

    Exact input uses flint's certified ``complex_roots`` (it isolates the roots of each
    square-free factor), so multiplicities and realness are exact. Float input uses
    ``numpy.roots``; a root is reported real when ``|Im t| <= tol * max(1, |t|)``, and the root
    at infinity has multiplicity equal to the number of leading coefficients with
    ``|c| <= tol * max|c|``.
    """
    if isinstance(F, np.ndarray) or (
        isinstance(F, Sequence) and any(isinstance(c, float) for c in F)
    ):
        c = as_float(F, "F")
        if c.ndim != 1:
            raise FilterError("F", "roots() takes one form, not a batch")
        scale = np.max(np.abs(c))
        if scale == 0:
            raise FilterError("F", "is the zero form, whose roots are the whole line")
        n_inf = 0
        while n_inf < len(c) and abs(c[n_inf]) <= tol * scale:
            n_inf += 1
        out = [Root(complex(math.inf, 0.0), 1, True) for _ in range(n_inf)]
        for t in np.roots(c[n_inf:]):
            real = abs(t.imag) <= tol * max(1.0, abs(t))
            out.append(Root(complex(t.real, 0.0) if real else complex(t), 1, bool(real)))
        return out
    Fe = as_exact(F, "F")
    if all(c == 0 for c in Fe):
        raise FilterError("F", "is the zero form, whose roots are the whole line")
    n_inf = _leading_zeros(Fe)
    out = []
    if n_inf:
        out.append(Root(complex(math.inf, 0.0), n_inf, True))
    p = to_fmpq_poly(Fe)
    if p.degree() > 0:
        num = p.numer()
        isolated: list[tuple[Any, int]] = num.complex_roots()  # type: ignore[assignment]
        for r, m in isolated:
            real = r.imag == 0
            val = complex(float(r.real.mid()), 0.0 if real else float(r.imag.mid()))
            out.append(Root(val, int(m), bool(real), r))
    return out


def real_root_count(F: Any) -> int:
    """Number of real roots of a nonzero exact form on the projective line, with multiplicity
    (exact: Sturm-type isolation in flint)."""
    return sum(r.multiplicity for r in roots(as_exact(F, "F")) if r.is_real)


def exact_to_json(v: flint.fmpq) -> int | str:
    """JSON encoding of an exact number: an int when integral, else the string ``"p/q"``."""
    return int(v.p) if v.q == 1 else f"{v.p}/{v.q}"
