"""The contract of the check endpoints: a synchronous decision, served by ASGI or by the fast path.

A check endpoint decides its answer in plain code from the request's headers
(a dict by lower-case name), its raw query and its whole body, in
:meth:`~CheckRoute.respond`. Two callers serve that decision and must stay
indistinguishable to a client: the endpoint's own ASGI ``__call__`` (under
Starlette, in the test client, or when the fast path declines a request) and
:mod:`.fastpath`, which answers from inside uvicorn's protocol.

A decision that appends an event returns :class:`Pending`: the answer waits
for the event's group commit (no client hears "done" for a line that was not
written), and a failed write picks ``failed`` instead of ``written``.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from starlette.types import Receive, Scope, Send

from ..evaluation import Grant
from ..events import Event
from ..snapshot import Answer, Snapshot, error_answer
from .context import Runtime
from .wire import BodyTooLarge, Family, headers_of, read_body, request_id, send_answer

__all__ = ["Admitted", "Pending", "CheckRoute", "BodyCheck", "body_too_large"]

Admitted = tuple[Snapshot, Grant]


class Pending(NamedTuple):
    """An answer that waits for its event line: ``written`` once it is kept, ``failed`` if it is not."""

    event: Event
    written: Answer
    failed: Answer


@runtime_checkable
class CheckRoute(Protocol):
    """What the fast path needs of a check endpoint: its headers, whether If-None-Match applies, its decision."""

    family: Family
    conditional: bool

    def respond(self, headers: dict[bytes, bytes], query: bytes, body: bytes, rid: bytes) -> Answer | Pending: ...


def body_too_large(limit: int) -> Answer:
    return error_answer(413, f"Request body is larger than {limit} bytes")


class BodyCheck:
    """A POST check: admit the key, read the bounded body, decide; the answer may wait for its event.

    The key is checked before the body is read (a client without a key never
    makes the edge read its body, and learns 401 before 413).
    """

    family: Family
    conditional = False  # a POST writes its event and sends its body every time

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.too_large = body_too_large(runtime.max_body)

    def admit(self, headers: dict[bytes, bytes]) -> Admitted | Answer:
        raise NotImplementedError

    def decide(self, admitted: Admitted, headers: dict[bytes, bytes], body: bytes, rid: bytes) -> Answer | Pending:
        raise NotImplementedError

    def respond(self, headers: dict[bytes, bytes], query: bytes, body: bytes, rid: bytes) -> Answer | Pending:
        admitted = self.admit(headers)
        return admitted if isinstance(admitted, Answer) else self.decide(admitted, headers, body, rid)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = headers_of(scope)
        rid = request_id(headers)
        result: Answer | Pending
        admitted = self.admit(headers)
        if isinstance(admitted, Answer):
            result = admitted
        else:
            try:
                raw = await read_body(receive, headers, self.runtime.max_body)
            except BodyTooLarge:
                result = self.too_large
            else:
                result = self.decide(admitted, headers, raw, rid)
        if isinstance(result, Pending):
            result = result.written if await self.runtime.write_event(result.event) else result.failed
        await send_answer(send, result, self.family, rid)
