"""OAuth token issuance and verification cost against a running server (issue 3).

Issuance: N client-credentials token requests (`client_secret_basic`) from C threads, each with
its own HTTP connection (kept alive when the server allows it), timed end to end: requests/s,
p50/p95/p99/max, failures. Verification: one token and the JWKS fetched over HTTP, then the
token verified locally many times as a resource server would (header, key by `kid`, ES256
signature, `iss`, `aud`, `exp`), with PyJWT and, when installed, joserfc.

    python -m load_tests.token_bench --base-url http://127.0.0.1:8000 \
        --client-id ID --client-secret SECRET --requests 2000 --concurrency 8

The secret may come from TOKEN_BENCH_CLIENT_SECRET instead of the command line. Only loopback
addresses are accepted: benchmarks never leave the machine. Talks to the server over HTTP only.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import jwt

from load_tests.common import Connection, Samples, drive, is_loopback, percentile, report

GRANT_FORM = "grant_type=client_credentials"


def token_headers(client_id: str, client_secret: str) -> dict[str, str]:
    """`client_secret_basic` (RFC 6749 §2.3.1: each part form-encoded, then Base64)."""
    pair = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
    return {
        "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }


def issue_tokens(
    base_url: str, token_path: str, headers: dict[str, str], count: int, concurrency: int
) -> tuple[Samples, float]:
    """`count` token requests from `concurrency` threads; the samples and the wall time."""

    def request_token(connection: Connection, _i: int) -> tuple[int, bool]:
        status, body = connection.request("POST", token_path, GRANT_FORM, headers)
        return status, status == 200 and b'"access_token"' in body

    return drive(base_url, count, concurrency, request_token)


def time_calls(call: Callable[[], object], count: int) -> list[float]:
    """Microseconds per call, one sample per call, after a short warm-up."""
    for _ in range(min(100, count)):
        call()
    timings = []
    for _ in range(count):
        started = time.perf_counter_ns()
        call()
        timings.append((time.perf_counter_ns() - started) / 1000)
    return timings


def pyjwt_verifier(jwks: dict[str, Any], issuer: str, audience: str) -> Callable[[str], Any]:
    """Verification with PyJWT: key by `kid` from the key set, ES256 only, iss/aud/exp required."""
    keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys}

    def verify(token: str) -> Any:
        key = keys[jwt.get_unverified_header(token)["kid"]]
        return jwt.decode(
            token,
            key,
            algorithms=["ES256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["iss", "aud", "exp", "iat", "sub", "jti", "client_id"]},
        )

    return verify


def joserfc_verifier(
    jwks: dict[str, Any], issuer: str, audience: str
) -> Callable[[str], Any] | None:
    """The same with joserfc, the library the server itself uses; None if it is not installed."""
    try:
        from joserfc import jwt as jose_jwt
        from joserfc.jwk import KeySet
    except ImportError:
        return None
    keys = KeySet.import_key_set(jwks)
    claims = jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
        jti={"essential": True},
    )

    def verify(token: str) -> Any:
        decoded = jose_jwt.decode(token, keys, algorithms=["ES256"])
        claims.validate(decoded.claims)
        return decoded.claims

    return verify


def report_verification(name: str, timings: list[float], out: Callable[[str], None]) -> None:
    out(
        f"{name:<28} n={len(timings):>5}  mean={statistics.fmean(timings):7.1f} µs  "
        f"p50={percentile(timings, 50):7.1f} µs  p99={percentile(timings, 99):7.1f} µs  "
        f"max={max(timings):8.1f} µs"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", required=True)
    parser.add_argument(
        "--client-secret",
        default=os.environ.get("TOKEN_BENCH_CLIENT_SECRET"),
        help="default: $TOKEN_BENCH_CLIENT_SECRET",
    )
    parser.add_argument("--requests", type=int, default=2000, help="token requests")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--verifications", type=int, default=5000)
    args = parser.parse_args(argv)
    if not is_loopback(args.base_url):
        parser.error("only loopback servers may be benchmarked here")
    if not args.client_secret:
        parser.error("--client-secret (or TOKEN_BENCH_CLIENT_SECRET) is required")
    if args.requests < 1 or args.concurrency < 1 or args.verifications < 1:
        parser.error("--requests, --concurrency and --verifications must be positive")

    base_url = args.base_url.rstrip("/")
    connection = Connection(base_url)
    metadata = connection.get_json("/.well-known/oauth-authorization-server")
    issuer = metadata["issuer"]
    audience = f"{issuer}/v1"
    token_path = urllib.parse.urlsplit(metadata["token_endpoint"]).path
    headers = token_headers(args.client_id, args.client_secret)
    status, body = connection.request("POST", token_path, GRANT_FORM, headers)
    if status != 200:
        raise SystemExit(f"the token request failed: {status} {body[:300]!r}")
    token = json.loads(body)["access_token"]
    jwks = connection.get_json(urllib.parse.urlsplit(metadata["jwks_uri"]).path)

    print(
        f"{base_url}: {args.requests} client-credentials token requests, {args.concurrency} "
        f"concurrent connections; {args.verifications} local verifications"
    )
    issue_tokens(base_url, token_path, headers, min(50, args.requests), args.concurrency)  # warm-up
    samples, wall = issue_tokens(base_url, token_path, headers, args.requests, args.concurrency)
    report("token issuance", samples, wall, print)
    if samples.failures:
        print(f"{'':<28} statuses {dict(sorted(samples.statuses.items()))}")

    verifiers = {"verification, PyJWT": pyjwt_verifier(jwks, issuer, audience)}
    jose = joserfc_verifier(jwks, issuer, audience)
    if jose is not None:
        verifiers["verification, joserfc"] = jose
    for name, verify in verifiers.items():
        claims = verify(token)  # fails loudly here if the token does not verify
        if claims["client_id"] != args.client_id:
            raise SystemExit(f"{name}: the token is not the client's: {claims['client_id']}")
        report_verification(name, time_calls(lambda v=verify: v(token), args.verifications), print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
