"""Signatures as Standard Webhooks defines them, checked with the standardwebhooks library."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bridge.delivery.signing import Signer, secret_key
from tests.delivery_helpers import OTHER_SECRET, SECRET, UNRELATED_SECRET

BODY = b'{"type":"fill","timestamp":"2023-11-14T22:13:20.000Z","data":{"rule":"r","x":"\xc3\xa9"}}'


def headers(signer: Signer, msg_id: str = "msg_1") -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": signer.sign(msg_id, stamp, BODY),
    }


def test_one_secret_verifies_with_the_reference_library() -> None:
    payload = Webhook(SECRET).verify(BODY, headers(Signer([SECRET])))
    assert payload["data"]["x"] == "é"


def test_two_secrets_sign_with_each_for_rotation() -> None:
    signed = headers(Signer([SECRET, OTHER_SECRET]))
    assert len(signed["webhook-signature"].split(" ")) == 2
    Webhook(SECRET).verify(BODY, signed)
    Webhook(OTHER_SECRET).verify(BODY, signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(UNRELATED_SECRET).verify(BODY, signed)


def test_a_changed_body_or_id_fails_verification() -> None:
    signed = headers(Signer([SECRET]))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY.replace(b'"r"', b'"s"'), signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY, {**signed, "webhook-id": "msg_2"})


@pytest.mark.parametrize("bad", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_"])
def test_bad_secrets_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        secret_key(bad)
    assert bad not in str(caught.value) or bad == "whsec_"


def test_the_signer_repr_hides_keys() -> None:
    signer = Signer([SECRET])
    assert SECRET[6:] not in repr(signer)
    assert "secret" in repr(signer)
