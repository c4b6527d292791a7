import pytest

from csim.memo import once, remember


def test_remember_returns_the_value_and_stores_it():
    table: dict[str, int] = {}
    assert remember(table, "a", 1) == 1
    assert table == {"a": 1}


def test_a_full_table_is_emptied_in_place():
    table = {i: i for i in range(3)}
    same = table
    remember(table, "new", 7, limit=3)
    assert table is same
    assert table == {"new": 7}


def test_once_computes_each_key_once():
    calls = []

    def compute(key: str) -> str:
        calls.append(key)
        return key.upper()

    table: dict[str, str] = {}
    assert once(table, "x", compute) == "X"
    assert once(table, "x", compute) == "X"
    assert calls == ["x"]


def test_once_does_not_remember_a_failure():
    table: dict[str, int] = {}

    def fail(key: str) -> int:
        raise ValueError(key)

    with pytest.raises(ValueError):
        once(table, "bad", fail)
    assert table == {}
    assert once(table, "bad", len) == 3
