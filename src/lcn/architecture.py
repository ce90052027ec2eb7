"""LCN architectures: filter sizes ``k`` and strides ``s`` (MATH.md sections 1-3).

An architecture with ``L`` layers acts by ``T_{w_L,s_L} ... T_{w_1,s_1}`` (layer 1 first). In
polynomial language (MATH.md 2) layer ``i`` contributes a form of degree ``d_i = k_i - 1`` in
``x^{S_i}, y^{S_i}`` with ``S_i = s_1 ... s_{i-1}``; the end-to-end filter is a binary form of
degree ``d = sum_i d_i S_i``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lcn._effective import Effective, blocks_of, degree_vectors, effective
from lcn._effective import boundary_kinds as _boundary_kinds
from lcn._effective import closure_degree as _closure_degree
from lcn._effective import ed_degree as _ed_degree
from lcn._validate import MAX_INT_DIGITS, check_int
from lcn.errors import ArchitectureError, ParseError

__all__ = [
    "Architecture",
    "as_architecture",
    "boundary_kinds",
    "closure_degree",
    "ed_degree",
    "is_closed",
    "is_filling",
    "parse_int_list",
    "singular_components",
]

#: Largest filter size or stride accepted; larger ones describe no network anyone can store.
MAX_SIZE = 10**7
#: Largest end-to-end degree ``d``: a filter of ``d + 1`` float64 taps stays below 80 MB.
MAX_DEGREE = 10**7

_INT_LIST = re.compile(r"^\s*[+-]?\d+\s*(,\s*[+-]?\d+\s*)*,?\s*$")


def parse_int_list(text: str, argument: str) -> tuple[int, ...]:
    """Parse ``"3,2,2"`` into ``(3, 2, 2)``; raise :class:`ParseError` naming ``argument``."""
    if not isinstance(text, str) or not text.strip():
        raise ParseError(argument, "is empty; give comma-separated positive integers like '3,2'")
    if not _INT_LIST.match(text):
        raise ParseError(
            argument, f"cannot parse {text[:40]!r}; give comma-separated positive integers like "
            "'3,2'"
        )
    if any(len(t.strip().lstrip("+-")) > MAX_INT_DIGITS for t in text.split(",")):
        raise ParseError(argument, f"has an entry of more than {MAX_INT_DIGITS} digits; sizes "
                         f"must be at most {MAX_SIZE}")
    return tuple(int(t) for t in text.split(",") if t.strip())


def _as_int_tuple(value: Any, argument: str) -> tuple[int, ...]:
    if isinstance(value, str):
        items: Sequence[Any] = parse_int_list(value, argument)
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise ArchitectureError(
            argument, f"expected a sequence of positive integers, got {type(value).__name__}"
        )
    if len(items) == 0:
        raise ArchitectureError(argument, "is empty; an architecture needs at least one layer")
    out = []
    for i, v in enumerate(items):
        try:
            out.append(check_int(v, argument, min=1, max=MAX_SIZE, error=ArchitectureError))
        except ArchitectureError as exc:
            raise ArchitectureError(argument, f"entry {i} {exc.message}") from None
    return tuple(out)


@dataclass(frozen=True)
class Architecture:
    """An LCN architecture: filter sizes ``k`` and strides ``s`` (immutable, hashable).

    >>> a = Architecture((3, 2), (2, 1))
    >>> a.d, a.S, a.degree, a.dimension
    ((2, 1), (1, 2), 4, 4)

    Strings are accepted too: ``Architecture("3,2", "2,1")``. ``s`` defaults to all ones.
    """

    k: tuple[int, ...]
    s: tuple[int, ...]

    def __init__(self, k: Any, s: Any = None) -> None:
        kk = _as_int_tuple(k, "k")
        ss = tuple(1 for _ in kk) if s is None else _as_int_tuple(s, "s")
        if len(kk) != len(ss):
            raise ArchitectureError(
                "s",
                f"has {len(ss)} entries but k has {len(kk)}; give one stride per layer",
            )
        object.__setattr__(self, "k", kk)
        object.__setattr__(self, "s", ss)
        if self.degree > MAX_DEGREE:
            raise ArchitectureError(
                "k", f"gives an end-to-end filter of degree {self.degree} (above the limit "
                f"{MAX_DEGREE}); use smaller filters or strides"
            )

    @classmethod
    def parse(cls, k: str, s: str | None = None) -> Architecture:
        """Build from strings such as ``"3,2"`` and ``"2,1"``."""
        return cls(k, s)

    def __repr__(self) -> str:
        return f"Architecture(k={self.k}, s={self.s})"

    def __str__(self) -> str:
        return f"k={','.join(map(str, self.k))} s={','.join(map(str, self.s))}"

    # -- derived quantities (MATH.md 2-3) ------------------------------------------------------
    @property
    def layers(self) -> int:
        """Number of layers ``L``."""
        return len(self.k)

    @property
    def d(self) -> tuple[int, ...]:
        """Layer degrees ``d_i = k_i - 1``."""
        return tuple(ki - 1 for ki in self.k)

    @property
    def S(self) -> tuple[int, ...]:
        """Cumulative strides ``S_i = s_1 ... s_{i-1}`` (``S_1 = 1``)."""
        out, acc = [], 1
        for si in self.s:
            out.append(acc)
            acc *= si
        return tuple(out)

    @property
    def degree(self) -> int:
        """Degree ``d = sum_i d_i S_i`` of the end-to-end filter as a binary form."""
        return sum(di * Si for di, Si in zip(self.d, self.S, strict=True))

    @property
    def filter_size(self) -> int:
        """Number of taps ``d + 1`` of the end-to-end filter."""
        return self.degree + 1

    @property
    def stride(self) -> int:
        """End-to-end stride ``s_1 ... s_L``."""
        return math.prod(self.s)

    @property
    def parameters(self) -> int:
        """Number of parameters ``sum_i k_i``."""
        return sum(self.k)

    @property
    def dimension(self) -> int:
        """Dimension of the function space, ``d_1 + ... + d_L + 1`` (MATH.md 3)."""
        return sum(self.d) + 1

    @property
    def full_dimensional(self) -> bool:
        """Whether the function space has dimension ``d + 1``: every layer with ``d_i > 0`` has
        ``S_i = 1`` (MATH.md 3)."""
        return all(Si == 1 for di, Si in zip(self.d, self.S, strict=True) if di > 0)

    def layer_sizes(self, n_out: int) -> tuple[int, ...]:
        """Sizes ``(n_0, ..., n_L)`` for output length ``n_L = n_out``, using
        ``n_{l-1} = s_l (n_l - 1) + k_l`` (MATH.md 1)."""
        n_out = check_int(n_out, "n_out", min=1, max=MAX_SIZE, error=ArchitectureError)
        sizes = [n_out]
        for kl, sl in zip(reversed(self.k), reversed(self.s), strict=True):
            sizes.append(sl * (sizes[-1] - 1) + kl)
        return tuple(reversed(sizes))

    # -- reduction (MATH.md 3) -----------------------------------------------------------------
    def reduced(self) -> Architecture:
        """The reduced architecture: neighbouring layers with equal ``S_i`` are merged (their
        degrees add, the merged layer keeps the stride of its last member).

        Same end-to-end degree, stride and dimension; ``M_{d,S}`` is contained in the reduced
        function space and both have the same Zariski closure (MATH.md 3).
        """
        groups = self.blocks()
        k = tuple(sum(self.d[i] for i in g) + 1 for g in groups)
        s = tuple(math.prod(self.s[i] for i in g) for g in groups)
        return Architecture(k, s)

    def blocks(self) -> tuple[tuple[int, ...], ...]:
        """Indices of the layers merged by :meth:`reduced`, one tuple per reduced layer."""
        return blocks_of(self.S)

    @property
    def is_reduced(self) -> bool:
        """Whether no two neighbouring layers have equal ``S_i`` (i.e. ``s_i > 1`` for ``i<L``)."""
        return all(si > 1 for si in self.s[:-1])

    # -- facts that depend only on (k, s) (MATH.md 3-6, 9; the math lives in lcn._effective) --
    @property
    def effective(self) -> Effective:
        """The levels of the geometry: the reduced architecture without its size-1 blocks,
        strides divided by the first positive-degree block's (:class:`lcn._effective.Effective`)."""
        return effective(self.k, self.s)

    @property
    def filling(self) -> bool:
        """Whether the function space is all of ``R[x,y]_d``: every layer of positive degree
        has ``S_i = 1`` (full-dimensional) and at most one of them has odd degree (MATH.md 3)."""
        eff = self.effective
        return eff.m == 0 or (eff.m == 1 and eff.G == 1 and eff.e[0] <= 1)

    @property
    def closed(self) -> bool:
        """Whether ``M`` equals (the real points of) its Zariski closure: no relative boundary
        of either kind (:attr:`boundary`; MATH.md 6)."""
        return not any(self.boundary.values())

    @property
    def closure_degree(self) -> int:
        """Degree of the Zariski closure: the multinomial ``(sum_l D_l)! / prod_l D_l!`` over
        the blocks of positive degree of the reduced architecture (MATH.md 4; 1, a linear space,
        for one block). Raises :class:`ArchitectureError` above
        :data:`lcn._effective.MAX_FACT_DIGITS` digits."""
        return _closure_degree(self.effective.D)

    @property
    def singular_components(self) -> list[tuple[int, ...]]:
        """The singular components ``D`` of MATH.md 5, as degree vectors ``d'`` indexed by the
        layers of the reduced architecture:

        ``D = { d' != d : sum_i d'_i S_i = sum_i d_i S_i, sum_{i>=l} d'_i S_i >= sum_{i>=l}
        d_i S_i for all l }`` (degree moved towards sparser layers). ``Sing = {0} u U_{d' in D}
        M_{d',S}``. Size-1 layers are scalars and never carry degree, so e.g. ``k=(3,1),
        s=(2,1)`` (whose function space is all of ``R[x,y]_2``) has no singular component.
        Raises :class:`ArchitectureError` beyond :data:`lcn._effective.MAX_COMPONENTS`
        enumeration steps."""
        eff = self.effective
        return sorted((eff.to_reduced(dv) for dv in degree_vectors(eff)),
                      key=lambda v: (sum(v), v))

    @property
    def boundary(self) -> dict[str, bool]:
        """Which relative boundary points ``M`` has, ``{"stride1": ..., "reduced": ...}``
        (MATH.md 6):

        * ``stride1``: a block of the reduced architecture merges two or more odd-degree
          layers (``e >= 2``), so ``M_red \\ M`` is non-empty;
        * ``reduced``: some block ``l >= 2`` has odd degree and the sparser layers below it
          carry at least one of its orbits, ``sum_{i<l} D_i S_i >= S_l``: a real form can need
          a hyperroot of block ``l`` from a conjugate pair (``x^4 + 4y^4`` for ``k=(3,2),
          s=(2,1)``), so the closure is larger than ``M_red``."""
        eff = self.effective
        stride1, reduced = _boundary_kinds(eff.D, eff.S, eff.e)
        return {"stride1": stride1, "reduced": reduced}

    @property
    def ed_degree(self) -> int:
        """Generic Euclidean distance degree of the Segre ``P^{k_1-1} x ... x P^{k_L-1}`` of the
        given layers (size-1 layers drop; whatever the strides): the number of complex critical
        points of the loss for generic data, modulo rescaling, with ``mu(w) != 0`` (MATH.md 9;
        the DHOST closed form, :func:`lcn._effective.ed_degree`). Exact; raises
        :class:`ArchitectureError` when ``sum (k_i - 1)`` exceeds
        :data:`lcn._effective.MAX_ED_ORDER` or the value has too many digits."""
        return _ed_degree(self.d)

    @property
    def codimension(self) -> int:
        """Codimension of the Zariski closure in ``R[x,y]_d``: ``d + 1 - dimension``."""
        return self.filter_size - self.dimension

    @property
    def is_hypersurface(self) -> bool:
        """Whether the Zariski closure is a hypersurface (codimension 1); its degree is then
        :attr:`closure_degree`, the degree of its one equation."""
        return self.codimension == 1

    def to_dict(self) -> dict[str, Any]:
        """The facts printed by ``lcn describe --json`` (keys documented in the CLI help).

        ``closure_degree``, ``ed_degree`` and ``singular_components`` are ``None`` where the
        exact value is refused as too large (see the properties)."""
        red = self.reduced()
        return {
            "k": list(self.k),
            "s": list(self.s),
            "layers": self.layers,
            "d": list(self.d),
            "S": list(self.S),
            "degree": self.degree,
            "filter_size": self.filter_size,
            "stride": self.stride,
            "parameters": self.parameters,
            "dimension": self.dimension,
            "reduced": {"k": list(red.k), "s": list(red.s)},
            "is_reduced": self.is_reduced,
            "full_dimensional": self.full_dimensional,
            "filling": self.filling,
            "closed": self.closed,
            "closure_degree": _or_none(lambda: self.closure_degree),
            "singular_components": _or_none(
                lambda: [list(c) for c in self.singular_components]),
            "boundary": self.boundary,
            "ed_degree": _or_none(lambda: self.ed_degree),
            "codimension": self.codimension,
            "hypersurface": self.is_hypersurface,
        }

    def to_json(self) -> dict[str, Any]:
        """The same facts as :meth:`to_dict` (every lcn result serialises as ``to_json``)."""
        return self.to_dict()


_T = TypeVar("_T")

_ARCH_TEXT = re.compile(r"^\s*k\s*=\s*(?P<k>[^ ]+)(\s+s\s*=\s*(?P<s>[^ ]+))?\s*$")


def as_architecture(arch: Any, argument: str = "arch") -> Architecture:
    """The one architecture coercion of :mod:`lcn`: every public function that takes an
    architecture calls it first, so all accept the same inputs and raise the same error.

    Accepted: an :class:`Architecture`; a pair ``(k, s)`` of integer sequences or strings
    (``((3, 2), (2, 1))``, ``("3,2", "2,1")``); a string in the form ``str(arch)`` prints
    (``"k=3,2 s=2,1"``) or a bare ``"3,2"`` (filter sizes, strides one).
    """
    if isinstance(arch, Architecture):
        return arch
    if isinstance(arch, str):
        m = _ARCH_TEXT.match(arch)
        if m:
            return Architecture(m.group("k"), m.group("s"))
        if "=" not in arch:
            return Architecture(arch)
    elif isinstance(arch, tuple | list) and len(arch) == 2 and not any(
        isinstance(p, bool | int | float) for p in arch
    ):
        return Architecture(arch[0], arch[1])
    raise ArchitectureError(
        argument,
        f"is {arch!r:.60}; give an lcn.Architecture, a (k, s) pair such as ((3, 2), (2, 1)), "
        "or a string such as 'k=3,2 s=2,1'",
    )


def _or_none(fact: Callable[[], _T]) -> _T | None:
    try:
        return fact()
    except ArchitectureError:
        return None


# -- the facts as functions of any architecture argument (re-exported by lcn.geometry) --------
def singular_components(arch: Any) -> list[tuple[int, ...]]:
    """:attr:`Architecture.singular_components` of ``arch`` (any :func:`as_architecture`
    input): the singular components ``D`` of MATH.md 5."""
    return as_architecture(arch).singular_components


def closure_degree(arch: Any) -> int:
    """:attr:`Architecture.closure_degree`: ``(sum_l D_l)! / prod_l D_l!`` (MATH.md 4)."""
    return as_architecture(arch).closure_degree


def is_filling(arch: Any) -> bool:
    """:attr:`Architecture.filling`: whether ``M`` is all of ``R[x,y]_d`` (MATH.md 3)."""
    return as_architecture(arch).filling


def boundary_kinds(arch: Any) -> dict[str, bool]:
    """:attr:`Architecture.boundary`: which relative boundary kinds ``M`` has (MATH.md 6)."""
    return as_architecture(arch).boundary


def is_closed(arch: Any) -> bool:
    """:attr:`Architecture.closed`: whether ``M`` equals its Zariski closure (MATH.md 6)."""
    return as_architecture(arch).closed


def ed_degree(arch: Any) -> int:
    """:attr:`Architecture.ed_degree`: the generic ED degree of the Segre of the layers
    (MATH.md 9)."""
    return as_architecture(arch).ed_degree
