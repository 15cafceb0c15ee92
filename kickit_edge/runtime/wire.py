"""The HTTP plumbing of the check endpoints, on raw ASGI.

The check endpoints are plain ASGI callables rather than Starlette
request/response functions: a check is a few header and query lookups and one
prebuilt body, so building ``Request`` and ``Response`` objects would cost
more than the check itself. This module holds what they share: reading
headers, the query string and a bounded body; matching ``If-None-Match``;
and sending an :class:`~kickit_edge.snapshot.Answer` with its headers.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from functools import lru_cache
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from ..snapshot import Answer, error_answer

__all__ = [
    "Family", "APPCOCKPIT", "KICKIT", "OPERATOR",
    "headers_of", "header_fields", "query_of", "parse_query", "read_body", "BodyTooLarge", "etag_matches", "request_id", "rule_header",
    "answer_message", "send_answer",
    "NOT_READY", "NOT_FOUND", "METHOD_NOT_ALLOWED", "INTERNAL_ERROR",
]

Header = tuple[bytes, bytes]


class Family:
    """The fixed headers of one API family (the seeds differ in content type and caching)."""

    def __init__(self, content_type: bytes, cache_control: bytes, vary: bytes | None) -> None:
        fixed = [(b"content-type", content_type), (b"cache-control", cache_control)]
        if vary is not None:
            fixed.append((b"vary", vary))
        self.fixed: tuple[Header, ...] = tuple(fixed)


# Clients must revalidate (no-cache) and shared caches must not keep an answer
# that depends on the key (private, Vary).
APPCOCKPIT = Family(b"application/json", b"private, no-cache", b"x-api-token")
# What the KickIt seed's response example shows.
KICKIT = Family(b"application/json; charset=utf-8", b"max-age=0, private, must-revalidate", b"X-API-KEY")
OPERATOR = Family(b"application/json", b"no-store", None)


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """The request headers by lower-case name (ASGI already lower-cases names); see :func:`header_fields`."""
    return header_fields(scope["headers"])


# Repeated fields of these are one comma-separated list (RFC 9110 5.3); of any other name the last one wins.
_LIST_FIELDS = (b"if-none-match",)


def header_fields(fields: list[Header]) -> dict[bytes, bytes]:
    """The request headers by (lower-case) name: a list-valued field sent more than once joined with ", "."""
    headers = dict(fields)
    if len(headers) < len(fields):  # a name came more than once
        for name in _LIST_FIELDS:
            values = [value for field, value in fields if field == name]
            if len(values) > 1:
                headers[name] = b", ".join(values)
    return headers


def query_of(scope: Scope) -> dict[str, str]:
    """The query parameters of an ASGI request; see :func:`parse_query`."""
    return parse_query(scope["query_string"])


def parse_query(raw: bytes) -> dict[str, str]:
    """The query parameters; the last of repeated ones wins (as in Starlette).

    Clients send plain ``name=value`` pairs; only a query with escapes
    (``%``, ``+``) takes the general parser, so the common case is two splits.
    """
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    params = {}
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            params[name] = value
    return params


class BodyTooLarge(Exception):
    """The request body is larger than the limit; the answer is 413."""


async def read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    """Read the whole body, refusing (before reading it) one that is larger than ``limit``."""
    declared = headers.get(b"content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge
        except ValueError:
            pass  # the HTTP parser has already refused a bad Content-Length
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # http.disconnect: nobody is waiting for the answer
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def etag_matches(if_none_match: bytes, etag: str) -> bool:
    """RFC 9110 weak comparison: ``*``, or any listed tag equal to ``etag`` ignoring ``W/``."""
    text = if_none_match.decode("latin-1")
    if text.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    for candidate in text.split(","):
        if candidate.strip().removeprefix("W/") == wanted:
            return True
    return False


_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_counter = itertools.count(1)
# Unique across workers and restarts without a syscall per request.
_prefix = f"{secrets.token_hex(4)}{os.getpid():x}-"


def request_id(headers: dict[bytes, bytes]) -> bytes:
    """The client's ``X-Request-Id`` if it is a plain token, else a new one."""
    given = headers.get(b"x-request-id")
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return f"{_prefix}{next(_counter):x}".encode("ascii")


@lru_cache(maxsize=4096)
def rule_header(rule: str) -> bytes:
    # Rule names come from the YAML (target ids); headers must be ASCII.
    return rule.encode("ascii", "backslashreplace")


# Added to the http.response.start message so the metrics count the verdict (servers ignore unknown keys).
VERDICT_KEY = "kickit.verdict"


def answer_message(answer: Answer, family: Family, rid: bytes, *, if_none_match: bytes | None = None,
                   extra: tuple[Header, ...] = ()) -> tuple[int, list[Header], bytes, str | None]:
    """The status, headers, body and (for the metrics) verdict that answer ``answer``.

    Headers: the family's, the ETag, the request id, ``extra``, the rule and
    the deadline of a soft answer. A 200 whose ETag matches ``if_none_match``
    becomes a 304 with the same headers and no body (only GET and HEAD callers
    pass ``if_none_match``). One home for both ways an answer leaves: ASGI
    messages (:func:`send_answer`) and the fast path's bytes (:mod:`.fastpath`).
    """
    headers = [*family.fixed, (b"etag", answer.etag.encode("ascii")), (b"x-request-id", rid), *extra]
    verdict = None if family is OPERATOR else answer.verdict
    if answer.rule is not None:
        headers.append((b"x-kickit-rule", rule_header(answer.rule)))
    if answer.hard_from is not None:  # a soft answer with a deadline: when it turns hard
        headers.append((b"x-kickit-hard-from", answer.hard_from.encode("ascii")))
    if if_none_match is not None and answer.status == 200 and etag_matches(if_none_match, answer.etag):
        return 304, headers, b"", verdict
    headers.append((b"content-length", str(len(answer.body)).encode("ascii")))
    return answer.status, headers, answer.body, verdict


async def send_answer(send: Send, answer: Answer, family: Family, rid: bytes, *,
                      if_none_match: bytes | None = None, head: bool = False,
                      extra: tuple[Header, ...] = ()) -> None:
    """Send ``answer`` as :func:`answer_message` says (no body for ``head``)."""
    status, headers, body, verdict = answer_message(answer, family, rid, if_none_match=if_none_match, extra=extra)
    await send({"type": "http.response.start", "status": status, "headers": headers, VERDICT_KEY: verdict})
    await send({"type": "http.response.body", "body": b"" if head else body})


NOT_READY = error_answer(503, "Service Unavailable: no snapshot loaded yet")
NOT_FOUND = error_answer(404, "Not Found")
METHOD_NOT_ALLOWED = error_answer(405, "Method Not Allowed")
INTERNAL_ERROR = error_answer(500, "Internal Server Error")
