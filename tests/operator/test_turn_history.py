from collections.abc import Callable
from itertools import count

from holo_operator import history as hist
from holo_operator.spec import Rotation

ROTATION = Rotation(interval_seconds=100, credential_ttl_seconds=30, clock_skew_seconds=5)


def maker() -> Callable[[float], hist.SharedSecret]:
    ids = count()

    def make(now: float) -> hist.SharedSecret:
        n = next(ids)
        return hist.SharedSecret(id=f"id{n}", secret=f"secret{n}", created_at=now)

    return make


def test_an_empty_history_gets_a_first_secret() -> None:
    after = hist.plan((), ROTATION, now=1000.0, make=maker())

    assert [e.id for e in after] == ["id0"]
    assert after[0].created_at == 1000.0


def test_nothing_changes_before_the_interval() -> None:
    make = maker()
    first = hist.plan((), ROTATION, now=1000.0, make=make)

    assert hist.plan(first, ROTATION, now=1099.0, make=make) == first


def test_the_old_secret_stays_for_ttl_plus_skew_after_its_successor() -> None:
    make = maker()
    h = hist.plan((), ROTATION, now=1000.0, make=make)
    h = hist.plan(h, ROTATION, now=1100.0, make=make)
    assert [e.id for e in h] == ["id0", "id1"]
    assert hist.accepted(h) == ["secret0", "secret1"]

    # 1100 + 30 + 5 = 1135: still accepted just before, gone at that moment.
    assert [e.id for e in hist.plan(h, ROTATION, now=1134.9, make=make)] == ["id0", "id1"]
    assert [e.id for e in hist.plan(h, ROTATION, now=1135.0, make=make)] == ["id1"]


def test_a_long_outage_rotates_once_and_keeps_only_what_is_needed() -> None:
    make = maker()
    h = hist.plan((), ROTATION, now=1000.0, make=make)
    h = hist.plan(h, ROTATION, now=1100.0, make=make)

    h = hist.plan(h, ROTATION, now=5000.0, make=make)

    # id0's successor is long past its grace; id1 was current until now, so it stays.
    assert [e.id for e in h] == ["id1", "id2"]


def test_serialisation_round_trips() -> None:
    h = hist.plan((), ROTATION, now=1000.5, make=maker())

    assert hist.loads(hist.dumps(h)) == h
