import base64
import hashlib
import hmac

from holo_turn.credentials import mint_turn_credentials, new_secret_id, new_shared_secret


def test_username_is_expiry_then_user_and_password_is_hmac_sha1_of_it() -> None:
    username, password = mint_turn_credentials("s3cret", "user-42", ttl=600, now=1_700_000_000.9)

    assert username == "1700000600:user-42"
    expected = hmac.new(b"s3cret", b"1700000600:user-42", hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


def test_a_different_secret_gives_a_different_password() -> None:
    _, a = mint_turn_credentials("one", "u", ttl=60, now=0)
    _, b = mint_turn_credentials("two", "u", ttl=60, now=0)

    assert a != b


def test_new_secrets_are_long_and_distinct() -> None:
    secrets = {new_shared_secret() for _ in range(100)}

    assert len(secrets) == 100
    assert min(len(s) for s in secrets) >= 40
    assert len({new_secret_id() for _ in range(100)}) == 100
