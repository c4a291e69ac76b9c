import random

import pytest

from backlog.ranking import FIRST_KEY, RankError, key_between, keys_between, validate_key


def test_first_key_and_open_ends():
    assert key_between(None, None) == FIRST_KEY
    assert key_between(FIRST_KEY, None) > FIRST_KEY
    assert key_between(None, FIRST_KEY) < FIRST_KEY


def test_appending_one_hundred_thousand_items_keeps_keys_short():
    key, longest = None, 0
    for _ in range(100_000):
        new = key_between(key, None)
        assert key is None or new > key
        key, longest = new, max(longest, len(new))
    assert longest <= 5


def test_prepending_many_items_keeps_order_and_short_keys():
    key = FIRST_KEY
    for _ in range(20_000):
        new = key_between(None, key)
        assert new < key
        key = new
    assert len(key) <= 5


def test_random_moves_always_produce_a_key_strictly_between_neighbours():
    rng = random.Random(42)
    order = keys_between(None, None, 200)
    assert order == sorted(order) and len(set(order)) == 200
    for _ in range(5_000):
        item = order.pop(rng.randrange(len(order)))
        slot = rng.randrange(len(order) + 1)
        before = order[slot - 1] if slot > 0 else None
        after = order[slot] if slot < len(order) else None
        new = key_between(before, after)
        validate_key(new)
        assert (before is None or before < new) and (after is None or new < after)
        assert new != item or (before, after) != (None, None)
        order.insert(slot, new)
    assert order == sorted(order)
    assert len(set(order)) == len(order)


def test_repeatedly_moving_to_the_same_gap_grows_keys_slowly():
    low, high = "a0", "a1"
    for _ in range(1_000):
        high = key_between(low, high)
    assert low < high
    # Each move halves the gap: about one character per six moves (log2 of 62).
    assert len(high) < 1_000 // 4


def test_keys_between_returns_sorted_unique_keys_inside_the_gap():
    keys = keys_between("a0", "a1", 1_000)
    assert keys == sorted(keys) and len(set(keys)) == 1_000
    assert keys[0] > "a0" and keys[-1] < "a1"
    assert max(len(k) for k in keys) <= 5
    assert keys_between(None, None, 0) == []


@pytest.mark.parametrize(("before", "after"), [("a1", "a0"), ("a0", "a0"), ("a00", None), ("", None), ("a!", None)])
def test_bad_or_unordered_keys_are_refused(before, after):
    with pytest.raises(RankError):
        key_between(before, after)
