"""Schemas of the OAuth endpoints, for the docs (Authlib parses the requests itself)."""

from __future__ import annotations

import marshmallow as ma

GRANT_TYPES = ["client_credentials", "authorization_code", "refresh_token"]


class TokenRequestSchema(ma.Schema):
    """A token request (RFC 6749 §4.1.3, §4.4.2, §6), form-encoded."""

    grant_type = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(GRANT_TYPES),
        metadata={"example": "client_credentials"},
    )
    scope = ma.fields.String(metadata={"example": "credit.basic credit.tax consents.request"})
    client_id = ma.fields.String(
        metadata={
            "description": "For client_secret_post, and for public clients.",
            "example": "cli_0f3a9c2e7b1d4a6f8e20",
        }
    )
    client_secret = ma.fields.String(
        metadata={"description": "For client_secret_post; prefer HTTP Basic (client_secret_basic)."}
    )
    code = ma.fields.String(
        metadata={"description": "authorization_code: the code from the redirect."}
    )
    redirect_uri = ma.fields.String(
        metadata={
            "description": "authorization_code: the redirect URI of the authorization request."
        }
    )
    code_verifier = ma.fields.String(
        metadata={"description": "authorization_code: the PKCE verifier (43–128 characters)."}
    )
    refresh_token = ma.fields.String(metadata={"description": "refresh_token: the refresh token."})


class TokenResponseSchema(ma.Schema):
    """An issued access token (RFC 6749 §5.1); the access token is a JWT (RFC 9068)."""

    access_token = ma.fields.String(
        required=True, metadata={"example": "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NiJ9..."}
    )
    token_type = ma.fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(required=True, metadata={"example": 600})
    scope = ma.fields.String(metadata={"example": "credit.basic credit.tax"})
    refresh_token = ma.fields.String(
        metadata={
            "description": "Only for the authorization-code and refresh grants; rotated on use."
        }
    )


class OAuthErrorSchema(ma.Schema):
    """An OAuth error (RFC 6749 §5.2): the OAuth endpoints answer in this standard shape."""

    error = ma.fields.String(required=True, metadata={"example": "invalid_client"})
    error_description = ma.fields.String(
        metadata={"example": "The client could not be authenticated."}
    )


class TokenActionSchema(ma.Schema):
    """A token to revoke (RFC 7009) or introspect (RFC 7662), form-encoded."""

    token = ma.fields.String(
        required=True, metadata={"example": "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NiJ9..."}
    )
    token_type_hint = ma.fields.String(
        validate=ma.validate.OneOf(["access_token", "refresh_token"]),
        metadata={"example": "access_token"},
    )


class IntrospectionSchema(ma.Schema):
    """Token introspection (RFC 7662 §2.2)."""

    active = ma.fields.Boolean(required=True, metadata={"example": True})
    client_id = ma.fields.String(metadata={"example": "cli_0f3a9c2e7b1d4a6f8e20"})
    scope = ma.fields.String(metadata={"example": "credit.basic"})
    sub = ma.fields.String(metadata={"example": "cli_0f3a9c2e7b1d4a6f8e20"})
    aud = ma.fields.String(metadata={"example": "http://127.0.0.1:8000/v1"})
    iss = ma.fields.String(metadata={"example": "http://127.0.0.1:8000"})
    exp = ma.fields.Integer(metadata={"example": 1795000000})
    iat = ma.fields.Integer(metadata={"example": 1794999400})
    jti = ma.fields.String(metadata={"example": "Gk2bT0wQ9oR3"})
    token_type = ma.fields.String(metadata={"example": "Bearer"})


class JwksSchema(ma.Schema):
    """A JSON Web Key Set (RFC 7517)."""

    keys = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        metadata={
            "example": [
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "x": "...",
                    "y": "...",
                    "kid": "X6BxZi",
                    "alg": "ES256",
                    "use": "sig",
                }
            ]
        },
    )


class ServerMetadataSchema(ma.Schema):
    """Authorization server metadata (RFC 8414)."""

    issuer = ma.fields.String(required=True, metadata={"example": "http://127.0.0.1:8000"})
    authorization_endpoint = ma.fields.String(
        required=True, metadata={"example": "http://127.0.0.1:8000/oauth/authorize"}
    )
    token_endpoint = ma.fields.String(
        required=True, metadata={"example": "http://127.0.0.1:8000/oauth/token"}
    )
    jwks_uri = ma.fields.String(
        required=True, metadata={"example": "http://127.0.0.1:8000/oauth/jwks"}
    )
    introspection_endpoint = ma.fields.String(
        metadata={"example": "http://127.0.0.1:8000/oauth/introspect"}
    )
    revocation_endpoint = ma.fields.String(
        metadata={"example": "http://127.0.0.1:8000/oauth/revoke"}
    )
    scopes_supported = ma.fields.List(
        ma.fields.String(), metadata={"example": ["credit.basic", "subject"]}
    )
    response_types_supported = ma.fields.List(ma.fields.String(), metadata={"example": ["code"]})
    grant_types_supported = ma.fields.List(ma.fields.String(), metadata={"example": GRANT_TYPES})
    token_endpoint_auth_methods_supported = ma.fields.List(
        ma.fields.String(),
        metadata={"example": ["client_secret_basic", "client_secret_post", "none"]},
    )
    code_challenge_methods_supported = ma.fields.List(
        ma.fields.String(), metadata={"example": ["S256"]}
    )
