"""The App's JWTs: signed with its key, parsed once, verifiable with the App's public key."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from github import Auth

from clients.github.worker import app_jwt_signer


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_the_jwt_verifies_with_the_apps_public_key_and_names_the_app() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app = Auth.AppAuth(4242, sign_func=app_jwt_signer(_pem(key)))
    before = int(time.time())
    tokens = [app.token for _ in range(3)]  # the key is parsed once; each JWT is fresh
    claims = jwt.decode(tokens[-1], key.public_key(), algorithms=["RS256"])
    assert claims["iss"] == "4242"
    # GitHub refuses a JWT valid for more than 10 minutes, or issued in its future.
    assert claims["iat"] <= before
    assert claims["exp"] - claims["iat"] <= 600
    assert jwt.get_unverified_header(tokens[0])["alg"] == "RS256"


def test_a_key_that_is_not_rsa_fails_the_first_jwt_and_says_what_github_gives() -> None:
    sign = app_jwt_signer(_pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(ValueError, match="RSA key"):
        sign({"iss": "1"})


def test_a_key_that_is_not_pem_fails_the_first_jwt() -> None:
    sign = app_jwt_signer("-----BEGIN nothing")
    with pytest.raises(ValueError, match="PEM"):
        sign({"iss": "1"})
