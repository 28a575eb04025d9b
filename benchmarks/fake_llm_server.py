"""A loopback OpenAI-compatible server that grades like a (lenient) model, for benchmarks and manual runs.

    python benchmarks/fake_llm_server.py [--port 8765] [--latency 1.0] [--no-schema | --llama-cpp] [--fail-every N]
        [--no-stream]

Then: OPENAI_BASE_URL=http://127.0.0.1:8765/v1 interviewer practice --model fake-grader

It implements GET /v1/models and POST /v1/chat/completions. Each reply judges the key points listed
in the prompt: "covered", quoting the answer's sentence that shares the most words with the point,
or "missing" when none shares two. `--no-schema` refuses any response_format with HTTP 400;
`--llama-cpp` refuses a JSON schema with HTTP 500, as llama-cpp-python's server does, and takes
JSON mode. A follow-up prompt (its system message asks for a follow-up question) gets one short
question aimed at the first key point the answer misses; asked with `stream: true`, it is streamed
as server-sent events, a word at a time, the first after a fifth of the latency and the last at the
end of it, as a model's tokens arrive (`--no-stream` sends it whole). Every reply carries `x-server-ms`, the time the server spent (latency included), so a
client can subtract it and measure its own overhead. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "fake-grader"
QUOTE_CHARS = 200
LLAMA_CPP_REFUSAL = {
    "error": {
        "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}",
        "type": "internal_server_error",
    }
}


_COMMON = frozenset(
    """with that this from each more than when into them they have what which does also only over
    same some used uses using their there these those other about after before where while""".split()
)
MIN_SHARED = 2  # words a sentence must share with a key point to be quoted for it


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _COMMON}


def _quote(sentence: str) -> str:
    """The sentence, cut at a word boundary if it is long: a quote of whole words."""
    if len(sentence) <= QUOTE_CHARS:
        return sentence
    return sentence[:QUOTE_CHARS].rsplit(" ", 1)[0]


def judge(user_message: str) -> dict:
    points = re.findall(
        r"^\d+\. (.*)$", user_message.split("## Key points", 1)[-1].split("## Candidate", 1)[0], re.M
    )
    match = re.search(r"<<<ANSWER (\w+)>>>\n(.*)\n<<<END ANSWER \1>>>", user_message, re.S)
    answer = match.group(2) if match else ""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", answer) if len(s.split()) >= 3]
    key_points = []
    for i, point in enumerate(points, start=1):
        wanted = _words(point)
        best = max(sentences, key=lambda s: len(wanted & _words(s)), default="")
        quote = _quote(best) if best and len(wanted & _words(best)) >= MIN_SHARED else ""
        key_points.append({"index": i, "verdict": "covered" if quote else "missing", "evidence": quote})
    return {
        "key_points": key_points,
        "errors": [],
        "strengths": ["Clear structure."] if sentences else [],
        "improvements": [] if all(k["evidence"] for k in key_points) else ["Cover the remaining key points."],
        "injection_suspected": "ignore previous instructions" in answer.lower(),
    }


FOLLOW_UP_GAP = (
    "What did your answer leave out that an interviewer would expect here, and why does it matter?"
)
FOLLOW_UP_DEEPER = "How would you explain this with one concrete example from a project you know?"
FIRST_TOKEN_SHARE = 0.2  # of the latency: the prompt is read before the first token comes


def follow_up(user_message: str) -> str:
    """A follow-up question: about the gap when the answer misses a key point, else a deeper one."""
    complete = all(point["evidence"] for point in judge(user_message)["key_points"])
    return FOLLOW_UP_DEEPER if complete else FOLLOW_UP_GAP


def _chunk(number: int, delta: dict, finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion.chunk",
        "model": MODEL,
        "choices": [choice],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-openai/1"
    latency = 0.0
    schema = True
    llama_cpp = False
    stream = True
    fail_every = 0
    calls = 0
    lock = threading.Lock()
    timings: list[float] = []  # seconds spent per completion, latency included

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict, started: float) -> None:
        data = json.dumps(body).encode()
        spent = time.perf_counter() - started
        with Handler.lock:
            Handler.timings.append(spent)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-server-ms", f"{spent * 1000:.3f}")
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, content: str, started: float) -> None:
        """The completion as server-sent events, a word at a time, spread over the latency."""
        words = content.split(" ")
        first = self.latency * FIRST_TOKEN_SHARE
        time.sleep(first)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        for i, word in enumerate(words):
            if i:
                time.sleep((self.latency - first) / max(1, len(words) - 1))
            self.wfile.write(_chunk(Handler.calls, {"content": word if i == 0 else " " + word}))
            self.wfile.flush()
        self.wfile.write(_chunk(Handler.calls, {}, "stop") + b"data: [DONE]\n\n")
        with Handler.lock:
            Handler.timings.append(time.perf_counter() - started)
        self.close_connection = True

    def do_GET(self) -> None:
        started = time.perf_counter()
        if self.path.rstrip("/").endswith("/models"):
            self._send(
                200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "me"}]}, started
            )
        else:
            self._send(404, {"error": {"message": "not found"}}, started)

    def do_POST(self) -> None:
        started = time.perf_counter()
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self._send(404, {"error": {"message": "not found"}}, started)
        with Handler.lock:
            Handler.calls += 1
            failing = Handler.fail_every and Handler.calls % Handler.fail_every == 0
        messages = body.get("messages", [])
        asking = any(m["role"] == "system" and "follow-up question" in m["content"] for m in messages)
        if asking and not failing and self.stream and body.get("stream"):
            return self._stream(follow_up(messages[-1]["content"]), started)
        time.sleep(self.latency)
        if failing:
            return self._send(503, {"error": {"message": "overloaded"}}, started)
        if not self.schema and "response_format" in body:
            return self._send(400, {"error": {"message": "response_format is not supported"}}, started)
        if self.llama_cpp and (body.get("response_format") or {}).get("type") == "json_schema":
            return self._send(500, LLAMA_CPP_REFUSAL, started)
        user = next(
            (m["content"] for m in reversed(body.get("messages", [])) if "## Key points" in m["content"]), ""
        )
        content = follow_up(user) if asking else json.dumps(judge(user))
        prompt_chars = sum(len(m["content"]) for m in body.get("messages", []))
        self._send(
            200,
            {
                "id": f"chatcmpl-{Handler.calls}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", MODEL),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_chars // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": (prompt_chars + len(content)) // 4,
                    "prompt_tokens_details": {"cached_tokens": 0},
                },
            },
            started,
        )


def serve(
    port: int = 0,
    latency: float = 0.0,
    schema: bool = True,
    fail_every: int = 0,
    llama_cpp: bool = False,
    stream: bool = True,
) -> ThreadingHTTPServer:
    """Start the server on 127.0.0.1 in a background thread; returns it (its port is server_port)."""
    Handler.latency, Handler.schema, Handler.fail_every = latency, schema, fail_every
    Handler.llama_cpp, Handler.stream = llama_cpp, stream
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each completion")
    parser.add_argument(
        "--no-schema", action="store_true", help="refuse response_format, like some local servers"
    )
    parser.add_argument(
        "--llama-cpp", action="store_true", help="refuse a JSON schema with HTTP 500, like llama-cpp-python"
    )
    parser.add_argument("--fail-every", type=int, default=0, help="answer every Nth completion with HTTP 503")
    parser.add_argument(
        "--no-stream", action="store_true", help="send follow-ups whole, even when asked to stream"
    )
    args = parser.parse_args()
    server = serve(
        args.port, args.latency, not args.no_schema, args.fail_every, args.llama_cpp, not args.no_stream
    )
    print(
        f"fake OpenAI-compatible server on http://127.0.0.1:{server.server_port}/v1 (model {MODEL})",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
