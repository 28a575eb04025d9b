"""What grading threads share (the memory of request shapes per endpoint, the client, the caches)
survives many threads and processes at once."""

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from llm_fakes import ADAM, ANSWER, BASE, QUOTES, completion

from interviewer.config import Settings
from interviewer.grading.llm import LLMGrader, ModeMemory, Shape

THREADS, KEYS = 8, 40


def _watch(path, stop, seen):
    """Read the file until told to stop; keep whatever was not a JSON object (it must stay empty)."""
    while not stop.is_set():
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        try:
            if not isinstance(json.loads(text), dict):
                seen.append(text)
        except ValueError:
            seen.append(text)


def test_many_threads_writing_at_once_lose_nothing_and_never_leave_a_torn_file(tmp_path):
    path = tmp_path / "cache" / "llm-modes.json"
    shared = ModeMemory(path)
    shapes = [Shape(), Shape(mode="json_object"), Shape(mode="text", temperature=False)]
    stop, torn, errors = threading.Event(), [], []
    start = threading.Barrier(THREADS + 1)

    def write(n):
        memory = shared if n % 2 else ModeMemory(path)  # one grader's memory, or another's on the file
        start.wait()
        try:
            for k in range(KEYS):
                memory.set(f"http://host-{n}/v1 model-{k}", shapes[k % 3].key())
                memory.get(f"http://host-{n}/v1 model-{k}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    watcher = threading.Thread(target=_watch, args=(path, stop, torn))
    writers = [threading.Thread(target=write, args=(n,)) for n in range(THREADS)]
    watcher.start()
    for t in writers:
        t.start()
    start.wait()
    for t in writers:
        t.join()
    stop.set()
    watcher.join()

    assert errors == [] and torn == []
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {
        f"http://host-{n}/v1 model-{k}": shapes[k % 3].key() for n in range(THREADS) for k in range(KEYS)
    }
    assert [p.name for p in path.parent.iterdir()] == ["llm-modes.json"], "no temporary file left behind"
    assert ModeMemory(path).get("http://host-3/v1 model-2") == shapes[2]


_WRITER = """
import sys
from pathlib import Path
from interviewer.grading.llm import ModeMemory
memory = ModeMemory(Path(sys.argv[1]))
for k in range(60):
    memory.set(f"process-{sys.argv[2]} model-{k}", "json_object,max_tokens,temperature,seed")
"""


def test_processes_sharing_the_file_never_see_it_torn(tmp_path):
    path = tmp_path / "llm-modes.json"
    stop, torn = threading.Event(), []
    watcher = threading.Thread(target=_watch, args=(path, stop, torn))
    watcher.start()
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(n)]) for n in range(3)]
    codes = [p.wait(timeout=60) for p in writers]
    stop.set()
    watcher.join()
    assert codes == [0, 0, 0] and torn == []
    data = json.loads(path.read_text(encoding="utf-8"))
    # Between processes the last writer wins, so entries may be lost (and learnt again), never the file.
    assert data and all(v == "json_object,max_tokens,temperature,seed" for v in data.values())


def test_a_torn_or_foreign_file_is_ignored_and_replaced(tmp_path):
    path = tmp_path / "llm-modes.json"
    for garbage in ('{"http://a/v1 m": "json_obj', "[1, 2]", '{"k": 3}', "\x00\x01"):
        path.write_text(garbage, encoding="utf-8")
        memory = ModeMemory(path)
        assert memory.get("http://a/v1 m") == Shape() and not memory.known("http://a/v1 m")
        memory.set("http://b/v1 m", "text,max_tokens,seed")
        assert json.loads(path.read_text(encoding="utf-8")) == {"http://b/v1 m": "text,max_tokens,seed"}


def test_an_unwritable_cache_does_not_stop_grading(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    memory = ModeMemory(blocker / "llm-modes.json")
    memory.set("http://a/v1 m", "text,max_tokens,temperature,seed")  # no exception
    assert memory.get("http://a/v1 m") == Shape()


def test_without_a_file_what_was_learnt_is_kept_for_the_grader(tmp_path):
    memory = ModeMemory(None)
    memory.set("http://a/v1 m", "json_object,max_tokens,temperature,seed")
    assert memory.get("http://a/v1 m") == Shape(mode="json_object")
    memory.forget("http://a/v1 m")
    assert not memory.known("http://a/v1 m")


def test_many_grading_threads_at_once_grade_as_one_thread_does(respx_mock, tmp_path):
    def llama_cpp(request):
        body = json.loads(request.content)
        if body["response_format"]["type"] == "json_schema":
            return httpx.Response(
                500, json={"error": {"message": "response_format: Input should be 'text' or 'json_object'"}}
            )
        answer = body["messages"][1]["content"].split(">>>\n", 1)[1]
        points = [
            {"index": i + 1, "verdict": "covered", "evidence": q}
            if q in answer
            else {"index": i + 1, "verdict": "missing", "evidence": ""}
            for i, q in enumerate(QUOTES)
        ]
        reply = {
            "key_points": points,
            "errors": [],
            "strengths": [],
            "improvements": [],
            "injection_suspected": False,
        }
        return completion(json.dumps(reply))

    respx_mock.post(f"{BASE}/chat/completions").mock(side_effect=llama_cpp)
    sentences = ANSWER.split(". ")
    answers = [". ".join(sentences[: 1 + n % len(sentences)]) + f" (take {n})" for n in range(24)]

    def grader():
        settings = Settings(grader="llm", model="m", base_url=BASE, max_retries=0)
        return LLMGrader(settings, memory=ModeMemory(tmp_path / "cache" / "llm-modes.json"))

    def outcome(grade):
        assert grade.ok, grade.failure
        return grade.model_dump(include={"score", "key_points", "notes", "cap_reason"})

    one_by_one = [outcome(grader().grade(ADAM, a)) for a in answers]
    shared = grader()
    (tmp_path / "cache" / "llm-modes.json").unlink()  # learn the shape again, from every thread at once
    with ThreadPoolExecutor(8) as pool:
        at_once = [outcome(g) for g in pool.map(lambda a: shared.grade(ADAM, a), answers)]
    assert at_once == one_by_one
    assert len({o["score"] for o in at_once}) > 2, "the answers differ, and so do their grades"
    assert ModeMemory(tmp_path / "cache" / "llm-modes.json").get(shared.memory_key) == Shape(
        mode="json_object"
    )
