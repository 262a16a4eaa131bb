"""The SigV4 signer the examples and the local server use, against AWS's published SigV4 test-suite vectors
(credentials AKIDEXAMPLE, 20150830T123600Z, us-east-1, service "service") and against botocore's signer."""

from __future__ import annotations

import pytest

from slo_engine.api import sigv4

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DATE = "20150830T123600Z"


def _suite(method: str, path: str, query: str = "", body: bytes = b"") -> sigv4.SignedParts:
    import hashlib

    return sigv4.sign(
        method=method,
        path=path,
        query=query,
        headers={"Host": "example.amazonaws.com", "X-Amz-Date": DATE},
        payload_hash=hashlib.sha256(body).hexdigest(),
        access_key_id="AKIDEXAMPLE",
        secret_access_key=SECRET,
        region="us-east-1",
        service="service",
        amz_date=DATE,
    )


def test_get_vanilla_canonical_request_matches_the_suite() -> None:
    assert _suite("GET", "/").canonical_request == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_get_vanilla_string_to_sign_matches_the_suite() -> None:
    assert _suite("GET", "/").string_to_sign == (
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    )


def test_get_vanilla_authorization_matches_the_suite() -> None:
    assert _suite("GET", "/").authorization == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


@pytest.mark.parametrize(
    ("case", "method", "path", "query", "signature"),
    [
        (
            "get-vanilla-query-order-key-case",
            "GET",
            "/",
            "Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        ("get-utf8", "GET", "/\u1234", "", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        ("post-vanilla", "POST", "/", "", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ],
)
def test_suite_case_signature(case: str, method: str, path: str, query: str, signature: str) -> None:
    assert _suite(method, path, query).signature == signature, case


def test_the_derived_signing_key_matches_the_published_value() -> None:
    key = sigv4.signing_key(SECRET, "20150830", "us-east-1", "service")
    assert key.hex() == "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75"


def test_the_signer_agrees_with_botocore_on_a_signed_api_request() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b'{"service": "cart", "question": "why 99.9%?"}'
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/services/cart/slos?view=all&a=1"
    request = AWSRequest(method="POST", url=url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(Credentials("AKIDEXAMPLE", SECRET), "execute-api", "eu-west-1").add_auth(request)
    botocore_signature = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    now = sigv4.parse_amz_date(request.headers["X-Amz-Date"])  # botocore signs at its own clock
    ours = sigv4.sign(
        method="POST",
        path="/v1/services/cart/slos",
        query="view=all&a=1",
        headers={
            "host": "abc123.execute-api.eu-west-1.amazonaws.com",
            "x-amz-date": sigv4.amz_date(now),
            "content-type": "application/json",
        },
        payload_hash=__import__("hashlib").sha256(body).hexdigest(),
        access_key_id="AKIDEXAMPLE",
        secret_access_key=SECRET,
        region="eu-west-1",
        service="execute-api",
        amz_date=sigv4.amz_date(now),
    )
    assert ours.signature == botocore_signature


def test_parse_authorization_refuses_a_header_that_is_not_sigv4() -> None:
    assert sigv4.parse_authorization("Basic YWxhZGRpbjpvcGVuc2VzYW1l") is None


def test_signing_a_header_that_is_not_in_the_request_is_an_error() -> None:
    with pytest.raises(ValueError, match="missing"):
        sigv4.sign(
            method="GET",
            path="/",
            query="",
            headers={"host": "h", "x-amz-date": DATE},
            payload_hash="",
            access_key_id="A",
            secret_access_key="B",
            region="r",
            service="s",
            amz_date=DATE,
            signed_header_names=("host", "x-amz-date", "content-type"),
        )
