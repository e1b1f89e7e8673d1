"""A short-lived cache of the public reads in Redis (issue 6), with their ETags.

The open data is read far more than it is written: an answer of `GET /v1/public/...` is kept for
a few seconds under a key that holds the day (publication periods end at midnight, China time)
and a version: one legal person's own for its entity and records, the generation of the whole
data set for searches. A department's write bumps the versions of the legal persons it touched
and the generation, so the next read sees it, and leaves every other legal person's answers be.

Redis is optional and may fail: without it the reads go to the database. After a failure the
cache stays off for a few seconds rather than make every request wait for a timeout.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import redis
from flask import Flask, Response, current_app, g, request
from werkzeug.http import unquote_etag

from api.database import request_handler
from credit import clock

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

TTL_SECONDS = 30
RETRY_AFTER_FAILURE_SECONDS = 5.0


# The versions (KEYS) make the key of the answer, which is read in the same round trip. On a
# Redis Cluster the answer's key would need the versions' hash slot; this is for one Redis.
_LOOKUP = """
local versions = redis.call('MGET', unpack(KEYS))
local parts = {}
for i = 1, #KEYS do parts[i] = versions[i] or '0' end
local key = ARGV[1] .. ':' .. table.concat(parts, ':') .. ':' .. ARGV[2]
local hit = redis.call('HMGET', key, 'etag', 'body')
return {key, hit[1], hit[2]}
"""


@dataclass(frozen=True)
class ScriptCall:
    """A registered script with its keys and arguments, to run alone or in a pipeline."""

    script: Any  # redis.commands.core.Script
    keys: list[str]
    args: list[Any]


class PublicCache:
    """Cached public answers in Redis, or nothing when Redis is not configured or failing."""

    def __init__(self, redis_url: str | None, namespace: str = "") -> None:
        self._redis = (
            redis.Redis.from_url(redis_url, socket_timeout=0.1, socket_connect_timeout=0.1)
            if redis_url
            else None
        )
        self._off_until = 0.0
        self._lookup_script: Any = None
        # Deployments (or test servers) sharing one Redis never see each other's answers.
        self._prefix = f"xy:pc:{namespace}" if namespace else "xy:pc"
        self._generation = f"{self._prefix}:generation"

    def _entity_key(self, uscc: str) -> str:
        return f"{self._prefix}:entity:{uscc}"

    @property
    def enabled(self) -> bool:
        """Whether Redis is configured and not in its cool-down after a failure."""
        return self._redis is not None and time.monotonic() >= self._off_until

    def _failed(self, what: str, error: object) -> None:
        self._off_until = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS
        log.warning("public cache off for %ss: %s failed: %s", RETRY_AFTER_FAILURE_SECONDS,
                    what, error)  # fmt: skip

    def lookup_call(self, uscc: str | None) -> ScriptCall | None:
        """The script call that finds this request's cache key and stored answer (None while
        the cache is off): the rate limiter sends it in its own round trip."""
        client = self._redis
        if client is None or not self.enabled:
            return None
        # One legal person's reads end with its own version; searches, which any write may
        # change, with the generation of the whole data set.
        names = [self._entity_key(uscc)] if uscc else [self._generation]
        query = "&".join(sorted(request.query_string.decode("latin-1").split("&")))
        digest = hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()[:32]
        return ScriptCall(
            self._script(client), names, [f"{self._prefix}:{clock.today().isoformat()}", digest]
        )

    def found(self, answer: list[Any] | None) -> None:
        """Keep for the view what a lookup sent by the limiter found (None: Redis failed)."""
        if answer is None:
            self._failed("reading an answer", "the rate limiter's round trip failed")
            g.public_cache_found = None
            return
        key, etag, body = answer
        hit = (etag.decode(), body) if etag is not None and body is not None else None
        g.public_cache_found = (key.decode(), hit)

    def _lookup(
        self, client: redis.Redis, uscc: str | None
    ) -> tuple[str, tuple[str, bytes] | None] | None:
        """This request's cache key and its stored answer, in one round trip; None if Redis
        failed."""
        if "public_cache_found" in g:  # the rate limiter asked already
            return cast(tuple[str, tuple[str, bytes] | None] | None, g.public_cache_found)
        call = self.lookup_call(uscc)
        if call is None:
            return None
        try:
            answer = call.script(keys=call.keys, args=call.args)
        except redis.RedisError as error:
            self._failed("reading an answer", error)
            return None
        self.found(answer)
        return cast(tuple[str, tuple[str, bytes] | None] | None, g.public_cache_found)

    def _script(self, client: redis.Redis) -> Any:
        if self._lookup_script is None:
            self._lookup_script = client.register_script(_LOOKUP)
        return self._lookup_script

    def answer(
        self, view: Callable[..., Any], about: str | None, /, *args: Any, **kwargs: Any
    ) -> Any:
        """The view's answer: from the cache, or computed and kept when it is a 200."""
        client = self._redis
        if client is None or not self.enabled:
            return view(*args, **kwargs)
        found = self._lookup(client, _normalized(about))
        if found is None:
            return view(*args, **kwargs)
        key, hit = found
        if hit is not None:
            return _answer(*hit)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and response.headers.get("ETag"):
            self._set(client, key, response)
        return response

    def _set(self, client: redis.Redis, key: str, response: Response) -> None:
        try:
            pipe = client.pipeline(transaction=False)
            pipe.hset(key, mapping={"etag": response.headers["ETag"], "body": response.get_data()})
            pipe.expire(key, TTL_SECONDS)
            pipe.execute()
        except redis.RedisError as error:
            self._failed("storing an answer", error)

    def invalidate(self, usccs: Iterable[str | None]) -> None:
        """After a write: the next public read of these legal persons, and every search, is
        answered afresh."""
        if self._redis is None:
            return
        codes = sorted({c for c in (_normalized(u) for u in usccs) if c})
        try:
            pipe = self._redis.pipeline(transaction=False)
            for code in codes:
                pipe.incr(self._entity_key(code))
                pipe.expire(self._entity_key(code), 24 * 3600)
            pipe.incr(self._generation)
            pipe.execute()
        except redis.RedisError as error:
            # The cached answers end with their TTL; say so, since reads may be stale till then.
            log.error("public cache not invalidated (stale for up to %ss): %s", TTL_SECONDS, error)


def cached(uscc_of: Callable[..., str | None] | None = None) -> Callable[[F], F]:
    """Serve a public GET from the app's cache, or cache its 200 answer for TTL_SECONDS.

    `uscc_of(**view_kwargs)` names the legal person the answer is about, whose writes end it.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            uscc = uscc_of(**kwargs) if uscc_of else None
            return public_cache().answer(view, uscc, *args, **kwargs)

        wrapper.public_cache_about = uscc_of or _about_nobody  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def _about_nobody(**_: Any) -> None:
    return None


def request_lookup() -> ScriptCall | None:
    """For a GET of a cached view, the lookup of its answer (None for other requests, or while
    the cache is off), so that the rate limiter can send it in the same round trip."""
    if request.method != "GET":
        return None
    about = getattr(request_handler(), "public_cache_about", None)
    if about is None:
        return None
    return public_cache().lookup_call(_normalized(about(**(request.view_args or {}))))


def cached_answer() -> Response | None:
    """The answer a lookup sent by the rate limiter found, if it found one."""
    found = g.get("public_cache_found")
    return _answer(*found[1]) if found is not None and found[1] is not None else None


def _normalized(uscc: str | None) -> str | None:
    return uscc.strip().upper() if isinstance(uscc, str) else None


def _answer(etag: str, body: bytes) -> Response:
    """A cached answer, or 304 when the client has it already (RFC 9110 §13.1.2)."""
    if request.if_none_match.contains_weak(unquote_etag(etag)[0] or ""):
        return Response(status=304, headers={"ETag": etag})
    return Response(body, status=200, mimetype="application/json", headers={"ETag": etag})


def public_cache() -> PublicCache:
    """The app's public cache."""
    return current_app.extensions["xinyong_cache"]


def init_app(app: Flask) -> None:
    """Make the app's cache from its Redis URL (none: no cache)."""
    app.extensions["xinyong_cache"] = PublicCache(
        app.config.get("REDIS_URL"), namespace=deployment_namespace(app)
    )


def deployment_namespace(app: Flask) -> str:
    """A short name of the deployment (its database) for the keys it keeps in Redis."""
    return hashlib.sha256(str(app.config["DATABASE_URL"]).encode()).hexdigest()[:10]
