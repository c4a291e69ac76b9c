"""Rank keys for ordered lists (fractional indexing).

A key is a string that sorts, byte by byte, between its neighbours. Moving an item
means computing one new key between the two keys around its new place: one row
written, whatever the list's size. Store keys in a column with byte-order collation
("C" on PostgreSQL; SQLite's default BINARY already is).

A key is an integer part followed by a fraction. The integer part's first character
says how many digits follow ('a' one, 'b' two, …; 'Z' one, 'Y' two … for the negative
side), so appending to either end keeps keys short (a few characters for 100,000
items); inserting between two neighbours extends the fraction.
"""

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)
_INDEX = {digit: i for i, digit in enumerate(DIGITS)}
FIRST_KEY = "a0"
# The smallest integer part: nothing can be placed before a key that starts with it.
_SMALLEST_INTEGER = "A" + DIGITS[0] * 26


class RankError(ValueError):
    """Keys out of order, malformed, or the key space exhausted at one end."""


def _integer_length(head: str) -> int:
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise RankError(f"invalid rank head {head!r}")


def _split(key: str) -> tuple[str, str]:
    length = _integer_length(key[0])
    if len(key) < length:
        raise RankError(f"invalid rank key {key!r}")
    return key[:length], key[length:]


def validate_key(key: str) -> None:
    if not key or any(ch not in _INDEX for ch in key):
        raise RankError(f"invalid rank key {key!r}")
    integer, fraction = _split(key)
    if integer == _SMALLEST_INTEGER:
        raise RankError(f"invalid rank key {key!r}")
    if fraction.endswith(DIGITS[0]):
        raise RankError(f"rank key {key!r} has a trailing zero")


def _midpoint(low: str, high: str | None) -> str:
    """A fraction strictly between ``low`` and ``high`` (None: one past the end)."""
    if high is not None:
        common = 0
        while common < len(high) and (low[common] if common < len(low) else DIGITS[0]) == high[common]:
            common += 1
        if common:
            return high[:common] + _midpoint(low[common:], high[common:])
    digit_low = _INDEX[low[0]] if low else 0
    digit_high = _INDEX[high[0]] if high is not None else BASE
    if digit_high - digit_low > 1:
        return DIGITS[(digit_low + digit_high) // 2]
    if high is not None and len(high) > 1:
        return high[0]
    return DIGITS[digit_low] + _midpoint(low[1:], None)


def _increment(integer: str) -> str | None:
    head, digits = integer[0], list(integer[1:])
    for i in range(len(digits) - 1, -1, -1):
        value = _INDEX[digits[i]] + 1
        if value < BASE:
            digits[i] = DIGITS[value]
            return head + "".join(digits)
        digits[i] = DIGITS[0]
    if head == "Z":
        return "a" + DIGITS[0]
    if head == "z":
        return None
    new_head = chr(ord(head) + 1)
    if new_head > "a":
        digits.append(DIGITS[0])
    else:
        digits.pop()
    return new_head + "".join(digits)


def _decrement(integer: str) -> str | None:
    head, digits = integer[0], list(integer[1:])
    for i in range(len(digits) - 1, -1, -1):
        value = _INDEX[digits[i]] - 1
        if value >= 0:
            digits[i] = DIGITS[value]
            return head + "".join(digits)
        digits[i] = DIGITS[-1]
    if head == "a":
        return "Z" + DIGITS[-1]
    if head == "A":
        return None
    new_head = chr(ord(head) - 1)
    if new_head < "Z":
        digits.append(DIGITS[-1])
    else:
        digits.pop()
    return new_head + "".join(digits)


def key_between(before: str | None, after: str | None) -> str:
    """A key that sorts after ``before`` and before ``after`` (None: open end)."""
    if before is not None:
        validate_key(before)
    if after is not None:
        validate_key(after)
    if before is not None and after is not None and before >= after:
        raise RankError(f"{before!r} is not before {after!r}")
    if before is None:
        return FIRST_KEY if after is None else _key_before(after)
    integer, fraction = _split(before)
    if after is None:
        larger = _increment(integer)
        return integer + _midpoint(fraction, None) if larger is None else larger
    after_integer, after_fraction = _split(after)
    if integer == after_integer:
        return integer + _midpoint(fraction, after_fraction)
    larger = _increment(integer)
    if larger is None:
        raise RankError("rank key space exhausted")
    return larger if larger < after else integer + _midpoint(fraction, None)


def _key_before(after: str) -> str:
    integer, fraction = _split(after)
    if integer == _SMALLEST_INTEGER:
        return integer + _midpoint("", fraction)
    if integer < after:
        return integer
    smaller = _decrement(integer)
    if smaller is None:
        raise RankError("cannot rank before the first possible key")
    return smaller


def keys_between(before: str | None, after: str | None, count: int) -> list[str]:
    """``count`` ascending keys between ``before`` and ``after``, kept short by bisection."""
    if count <= 0:
        return []
    if count == 1:
        return [key_between(before, after)]
    if after is None:
        keys, key = [], before
        for _ in range(count):
            key = key_between(key, None)
            keys.append(key)
        return keys
    if before is None:
        keys, key = [], after
        for _ in range(count):
            key = key_between(None, key)
            keys.append(key)
        return keys[::-1]
    middle = count // 2
    pivot = key_between(before, after)
    return [*keys_between(before, pivot, middle), pivot, *keys_between(pivot, after, count - middle - 1)]
