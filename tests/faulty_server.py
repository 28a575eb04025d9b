"""A real HTTP server on a local socket that misbehaves in ways respx cannot: it drips its reply,
breaks off in the middle of it, or sends a gzip bomb. Each connection runs `behave(connection)`
in a thread once the request has been read whole."""

import contextlib
import socket
import threading
import zlib
from collections.abc import Callable


class FaultyServer:
    def __init__(self, behave: Callable[["Connection"], None]):
        self.behave = behave
        self.stopped = threading.Event()  # set at the end of the test: whatever still drips stops
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            connection = Connection(sock, self.stopped)
            if not connection.read_request():
                return
            with contextlib.suppress(OSError):  # the client gave up on us: that is what a deadline is for
                self.behave(connection)

    def stop(self) -> None:
        self.stopped.set()
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() that close() alone would not
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)


class Connection:
    def __init__(self, sock: socket.socket, stopped: threading.Event):
        self.sock = sock
        self.stopped = stopped

    def read_request(self) -> bool:
        """Read one request whole; False when the client hung up first."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            body += chunk
        return True

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def drip(self, data: bytes, every: float) -> None:
        """One byte every `every` seconds, until the client hangs up or the test ends."""
        for i in range(len(data)):
            if self.stopped.wait(every):
                return
            self.send(data[i : i + 1])


def head(length: int | None, *extra: str) -> bytes:
    """A 200's status line and headers; `length` None sends no Content-Length."""
    sized = [] if length is None else [f"Content-Length: {length}"]
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", *sized, *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def response(body: bytes, *extra: str) -> bytes:
    return head(len(body), *extra) + body


def gzip_bomb(megabytes: int, tail: bytes) -> bytes:
    """`megabytes` MB of spaces and then `tail`, gzipped to a small fraction of that.

    Spaces before a JSON document are still that document: a client that reads it all gets a
    valid reply, after holding every byte of it in memory.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * 2**20
    parts = [compressor.compress(block) for _ in range(megabytes)]
    return b"".join(parts) + compressor.compress(tail) + compressor.flush()
