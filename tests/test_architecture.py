import math

import pytest
from hypothesis import given

from lcn import Architecture
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
