"""The HTTP client the LLM grader talks through: a deadline for each whole request, a bound on each reply.

httpx times each network operation on its own, so a server that sends one byte a second never
times out; and it keeps a whole reply in memory, however large (or however well compressed). Here
every connect, write and read of a request gets only what is left of that request's deadline, and
a reply's body stops at MAX_REPLY_BYTES once decompressed. The openai client reads every reply it
does not stream in full anyway, and grading never streams, so the body is read here, inside the
transport, where both bounds can be kept. A streamed reply (server-sent events, as a follow-up
question is asked for) is handed on as it arrives, under the same size bound; its reads keep to
the deadline of whoever reads it, set with `deadline()` around the request and the reading.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore2
import httpx2
import openai

MAX_REPLY_BYTES = 8 * 2**20  # a grade is a few kB; a long list of models a few hundred

# When the request running in this thread must be over (time.monotonic()); None outside a request.
_deadline: ContextVar[float | None] = ContextVar("interviewer_request_deadline", default=None)
# What describes the body on the wire, not the decompressed body handed on.
_WIRE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


class ReplyTooLarge(Exception):
    """The server's reply is larger than any reply grading needs."""


class ReplyCutOff(httpx2.ReadError):
    """The connection failed after the reply had begun and before it was complete.

    A read error, so that the openai client and the grader's retries treat it as they treat any
    broken connection; a class of its own, so that the reason given can say what happened.
    """


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """What is left of the running request's deadline, if less than `timeout`; `expired` when nothing is."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the request took longer than its whole-request timeout")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore2.NetworkStream):
    """A connection whose every operation ends by the deadline of the request using it."""

    def __init__(self, stream: httpcore2.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        timeout = _left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    """Opens connections that keep to the deadline of whichever request uses them."""

    def __init__(self, backend: httpcore2.NetworkBackend):
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        timeout = _left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        timeout = _left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class BoundedTransport(httpx2.BaseTransport):
    """An httpx transport whose connections keep to the running request's deadline, and which
    refuses oversized replies."""

    def __init__(self, transport: httpx2.BaseTransport):
        self._transport = transport
        # httpx takes no network backend, but its connection pool (a private attribute) does. Should
        # that change, the tests against a dripping server fail.
        pool = transport._pool  # type: ignore[attr-defined]
        pool._network_backend = _DeadlineBackend(pool._network_backend)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self._transport.handle_request(request)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return _streamed(response, request)
        try:
            body = _read_body(response, request)
        finally:
            response.close()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
        return httpx2.Response(
            response.status_code, headers=headers, content=body, extensions=response.extensions
        )

    def close(self) -> None:
        self._transport.close()


def _read_body(response: httpx2.Response, request: httpx2.Request) -> bytes:
    """The decompressed body, up to MAX_REPLY_BYTES (httpx decompresses it a megabyte at a time)."""
    chunks, size = [], 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                raise ReplyTooLarge(f"the reply is larger than {MAX_REPLY_BYTES // 2**20} MB")
            chunks.append(chunk)
    except (httpx2.ReadError, httpx2.RemoteProtocolError) as exc:
        raise ReplyCutOff(str(exc), request=request) from exc
    return b"".join(chunks)


class _BoundedStream(httpx2.SyncByteStream):
    """A streamed body handed on chunk by chunk, cut off past MAX_REPLY_BYTES."""

    def __init__(self, response: httpx2.Response, request: httpx2.Request):
        self._response, self._request = response, request

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        try:
            for chunk in self._response.iter_bytes():
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise ReplyTooLarge(f"the reply is larger than {MAX_REPLY_BYTES // 2**20} MB")
                yield chunk
        except (httpx2.ReadError, httpx2.RemoteProtocolError) as exc:
            raise ReplyCutOff(str(exc), request=self._request) from exc

    def close(self) -> None:
        self._response.close()


def _streamed(response: httpx2.Response, request: httpx2.Request) -> httpx2.Response:
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    return httpx2.Response(
        response.status_code,
        headers=headers,
        stream=_BoundedStream(response, request),
        extensions=response.extensions,
    )


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every request sent and every reply read in this block ends within `seconds` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


class BoundedClient(openai.DefaultHttpxClient):
    """The openai client's own HTTP client (its limits, redirects, proxies from the environment),
    with bounded transports, and in which no request, redirects included, lasts longer than `seconds`."""

    def __init__(self, seconds: float):
        self._seconds = seconds
        super().__init__()

    def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        ends = time.monotonic() + self._seconds
        outer = _deadline.get()  # a `deadline()` block around the request may end sooner
        token = _deadline.set(ends if outer is None else min(ends, outer))
        try:
            return super().send(request, **kwargs)
        finally:
            _deadline.reset(token)

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx2.BaseTransport:
        return BoundedTransport(super()._init_transport(*args, **kwargs))

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx2.BaseTransport:
        return BoundedTransport(super()._init_proxy_transport(*args, **kwargs))
