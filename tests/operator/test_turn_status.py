from holo_operator import status
from holo_operator.failures import Failure, backoff, classify
from holo_operator.history import SharedSecret
from holo_operator.kube import ConflictError
from holo_operator.reconcile import Outcome, RedisSecretMissing
from holo_operator.spec import RedisRef, SpecError, TurnServerSpec
from redis.exceptions import ConnectionError as RedisConnectionError

SPEC = TurnServerSpec(realm="r", redis=RedisRef("redis"))
SECRET = SharedSecret(id="abc", secret="s", created_at=1000.0)


def conditions(st: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["type"]: c for c in st["conditions"]}


def test_a_synced_reconcile_reports_the_secret_and_relays() -> None:
    st = status.for_outcome(Outcome(SPEC, SECRET, ready_relays=2), {}, now=1065.0, generation=3)

    assert st["currentSecretId"] == "abc"
    assert st["secretAgeSeconds"] == 65
    assert st["lastRotationTime"] == "1970-01-01T00:16:40Z"
    assert st["readyRelays"] == 2
    assert st["observedGeneration"] == 3
    assert conditions(st)["Ready"]["status"] == "True"
    assert conditions(st)["SecretsSynced"]["reason"] == "Synced"
    assert "s" not in st.values()  # the secret itself is never in status


def test_no_ready_relay_means_not_ready() -> None:
    st = status.for_outcome(Outcome(SPEC, SECRET, ready_relays=0), {}, now=1000.0, generation=1)

    assert conditions(st)["Ready"] | {"lastTransitionTime": None} == {
        "type": "Ready",
        "status": "False",
        "reason": "NoReadyRelays",
        "message": "0 relay(s) ready",
        "lastTransitionTime": None,
        "observedGeneration": 1,
    }


def test_transition_time_moves_only_when_the_status_flips() -> None:
    first = status.for_outcome(Outcome(SPEC, SECRET, ready_relays=1), {}, now=1000.0, generation=1)
    same = status.for_outcome(
        Outcome(SPEC, SECRET, ready_relays=1), first, now=2000.0, generation=1
    )
    failed = status.for_failure(Failure("RedisUnavailable", "down"), same, now=3000.0, generation=1)

    assert conditions(same)["Ready"]["lastTransitionTime"] == "1970-01-01T00:16:40Z"
    assert conditions(failed)["Ready"]["lastTransitionTime"] == "1970-01-01T00:50:00Z"
    assert conditions(failed)["SecretsSynced"]["reason"] == "RedisUnavailable"


def test_failures_map_to_reasons_and_retry_policy() -> None:
    assert classify(SpecError("x")) == Failure("InvalidSpec", "x", permanent=True)
    assert classify(RedisSecretMissing("y")).reason == "RedisSecretMissing"
    assert classify(RedisConnectionError("z")).reason == "RedisUnavailable"
    assert classify(ConflictError(409, "c")).reason == "Conflict"
    assert not classify(RedisConnectionError("z")).permanent
    assert classify(KeyError("k")).reason == "InternalError"


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(100) == 300.0
