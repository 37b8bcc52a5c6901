"""helpers.api: the real local server through the real openai client, and fake endpoints for errors."""
import json
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from helpers.api import playground
from helpers.api.client import chat, complete, completion
from helpers.api.local_server import LOCAL_MODEL, ApiError, LocalServer
from helpers.api.prompts import few_shot_prompt
from helpers.course.checks import few_shot_prompting as checks
from helpers.data.sentiment import labelled_reviews, load_movie_reviews
from helpers.generation.sampling import trim_at_stop
from tests.checker_asserts import assert_checker_behaves


@pytest.fixture(scope="module")
def server():
    srv = LocalServer().start()  # once per module: a start costs seconds
    yield srv
    srv.stop()


@pytest.mark.download
def test_local_server_answers_completions_with_usage(server, capsys):
    text = complete(server.client(), LOCAL_MODEL, "The capital of France is", max_tokens=4)
    assert isinstance(text, str) and text.strip()
    assert "prompt +" in capsys.readouterr().out  # usage printed per call


@pytest.mark.download
def test_local_server_answers_chat(server):
    reply = chat(server.client(), LOCAL_MODEL, [{"role": "user", "content": "Say hello."}], max_tokens=8)
    assert isinstance(reply, str) and reply.strip()


@pytest.mark.download
def test_stop_sequences_are_cut_even_though_the_server_returns_them(server):
    client = server.client()
    prompt = "one\ntwo\nthree\nfour\nfive\n"
    raw = client.completions.create(model=LOCAL_MODEL, prompt=prompt, max_tokens=8, temperature=0, stop=["\n"])
    text = complete(client, LOCAL_MODEL, prompt, max_tokens=8, stop=["\n"], verbose=False)
    assert "\n" not in text
    assert raw.choices[0].text.startswith(text)


@pytest.mark.download
def test_unknown_model_is_one_line(server):
    with pytest.raises(ApiError, match="does not know the model 'gpt-9'") as e:
        complete(server.client(), "gpt-9", "hi", max_tokens=1, verbose=False)
    assert "\n" not in str(e.value)


@pytest.mark.download
def test_prompt_longer_than_context_is_refused_before_sending(server):
    with pytest.raises(ApiError, match="context"):
        complete(server.client(), LOCAL_MODEL, "word " * 9000, max_tokens=4)


@pytest.mark.download
def test_local_server_sends_no_logprobs_and_ignores_presence_penalty(server):
    client = server.client()
    assert completion(client, LOCAL_MODEL, "The cat", max_tokens=2, logprobs=2, verbose=False).tokens is None
    prompt = "The cat sat on the mat. The cat sat on the mat. The cat"
    plain, presence, frequency = (complete(client, LOCAL_MODEL, prompt, max_tokens=16, verbose=False, **kw)
                                  for kw in ({}, dict(presence_penalty=2.0), dict(frequency_penalty=1.0)))
    assert presence == plain  # what notebook 10 tells the learner: the local server ignores it
    assert frequency != plain  # ... and turns this one into a repetition penalty


@pytest.mark.download
def test_playground_on_the_api_disables_what_the_backend_cannot_do(server):
    backend = playground.ApiBackend(server.client(), LOCAL_MODEL)
    assert set(backend.unsupported) == {"top_k", "show_probabilities"} and "presence_penalty" in backend.note
    settings = playground.Settings(temperature=0, max_tokens=6, show_probabilities=True)
    result = playground.run(backend, "Q: What is the capital of Italy?\nA:", settings)
    assert result.prompt.startswith("Q: What is the capital of Italy?\nA:") and result.continuation
    assert result.tokens is None and "no log-probabilities" in result.note
    with pytest.raises(ValueError, match="top_k=5: the OpenAI API has no top-k"):
        playground.run(backend, "Hi", playground.Settings(top_k=5))
    pg = playground.Playground(backend, prompt="Q: What is the capital of France?\nA:")
    assert pg.controls["show_probabilities"].disabled and pg.controls["top_k"].disabled
    before = pg.prompt.value
    pg.button.click()
    assert pg.prompt.value.startswith(before) and len(pg.prompt.value) > len(before)


@pytest.mark.download
def test_stop_leaves_no_process_and_closes_the_port(server):
    pid, port = server.proc.pid, server.port
    server.stop()
    assert server.proc is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_server_that_cannot_load_its_model_shows_its_log(tmp_path):
    folder = tmp_path / "broken-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')  # no weights, no tokenizer
    with pytest.raises(ApiError, match="exited .* its log ends: .*Error") as e:
        LocalServer(folder).start(timeout=120)
    assert "\n" not in str(e.value)


# --- fake endpoints ------------------------------------------------------------------------------

def _reply_json(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
    """Read the request's body, then answer ``status`` with ``payload`` as JSON (what both fake endpoints do)."""
    handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
    body = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class _Fake(BaseHTTPRequestHandler):
    status, error = 401, {"message": "Incorrect API key provided: sk-bad.", "type": "invalid_request_error",
                          "code": "invalid_api_key"}
    hits = 0

    def do_POST(self):
        type(self).hits += 1
        _reply_json(self, self.status, {"error": self.error})

    def log_message(self, *args):
        pass


def _fake_endpoint(status, error):
    handler = type("Handler", (_Fake,), {"status": status, "error": error, "hits": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1", api_key="sk-bad", max_retries=0)
    return httpd, handler, client


class _Answers(BaseHTTPRequestHandler):
    """A fake completions endpoint that answers 200 with OpenAI's legacy log-probabilities."""
    body = {"id": "x", "object": "text_completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "text": " Rome.\nQ:", "finish_reason": "stop", "logprobs": {
                "tokens": [" Rome", ".", "\n", "Q", ":"], "token_logprobs": [-0.1, -0.5, -1.0, -0.2, -0.1],
                "top_logprobs": [{" Rome": -0.1, " Milan": -2.5}, {".": -0.5, "!": -1.2}, {"\n": -1.0},
                                 {"Q": -0.2}, {":": -0.1}], "text_offset": [0, 5, 6, 7, 8]}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}}

    def do_POST(self):
        _reply_json(self, 200, self.body)

    def log_message(self, *args):
        pass


@pytest.mark.download
def test_logprobs_are_read_and_cut_with_the_text_at_the_stop():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1", api_key="x", max_retries=0)
        c = completion(client, "m", "Q: capital of Italy?\nA:", max_tokens=5, stop=["\n"], logprobs=2, verbose=False)
        assert c.text == " Rome." and [t.token for t in c.tokens] == [" Rome", "."]
        assert c.tokens[0].prob == pytest.approx(0.9048, abs=1e-4) and c.tokens[0].top[1] == (" Milan", -2.5)
        backend = playground.ApiBackend(client, "m")
        assert "show_probabilities" not in backend.unsupported
        result = playground.run(backend, "Q: capital of Italy?\nA:",
                                playground.Settings(stop=("\n",), show_probabilities=True))
        assert [t.text for t in result.tokens] == [" Rome", "."] and result.tokens[1].alternatives[1][0] == "!"
    finally:
        httpd.shutdown()


@pytest.mark.download
def test_wrong_key_gives_one_line_with_the_fix():
    httpd, handler, client = _fake_endpoint(401, _Fake.error)
    try:
        with pytest.raises(ApiError, match="401.*Incorrect API key.*check OPENAI_API_KEY") as e:
            complete(client, "gpt-3.5-turbo-instruct", "hi", max_tokens=1)
        assert "\n" not in str(e.value)
        assert handler.hits == 1  # a refused key is not retried
    finally:
        httpd.shutdown()


@pytest.mark.download
def test_rate_limit_is_retried_a_bounded_number_of_times():
    error = {"message": "You exceeded your current quota.", "type": "insufficient_quota", "code": "insufficient_quota"}
    httpd, handler, client = _fake_endpoint(429, error)
    try:
        with pytest.raises(ApiError, match="429 .*after 3 tries.*exceeded your current quota"):
            chat(client, "gpt-4o-mini", [{"role": "user", "content": "hi"}], retries=2, base_delay=0.01)
        assert handler.hits == 3
    finally:
        httpd.shutdown()


# --- pure functions --------------------------------------------------------------------------------

def test_trim_at_stop_cuts_at_the_first_of_several():
    assert trim_at_stop("abc\ndef###", ["###", "\n"]) == "abc"
    assert trim_at_stop("abc", None) == "abc"
    assert trim_at_stop("a => b", "=>") == "a "


def test_few_shot_prompt_has_the_gpt3_layout():
    got = few_shot_prompt("Translate English to French:", [("sea otter", "loutre de mer")], "cheese")
    assert got == "Translate English to French:\n\nsea otter => loutre de mer\ncheese =>"
    assert few_shot_prompt("", [], "cheese") == "cheese =>"


@pytest.mark.download
def test_movie_reviews_are_balanced_and_labelled_by_their_scores():
    scores = dict(load_movie_reviews())
    assert len(scores) > 10_000
    data = labelled_reviews(20, max_words=15)
    assert sum(label == "positive" for _, label in data) == 10
    for text, label in data:
        assert len(text.split()) <= 15
        assert (scores[text] >= 1) if label == "positive" else (scores[text] <= -1)
    assert not set(data) & set(labelled_reviews(20, skip=10))
    with pytest.raises(ValueError, match="even number"):
        labelled_reviews(3)


# --- the notebook's exercise checkers ---------------------------------------------------------------

def few_shot_messages(description, examples, query):
    messages = [{"role": "system", "content": description}]
    for x, y in examples:
        messages += [{"role": "user", "content": x}, {"role": "assistant", "content": y}]
    return messages + [{"role": "user", "content": query}]


def parse_label(reply, labels):
    for word in re.findall(r"[a-z]+", reply.lower()):
        if word in labels:
            return word
    return None


def test_check_few_shot_messages(capsys):
    def swapped(d, e, q):  # the example's answer as the user's turn
        return [{"role": "system", "content": d}] + [m for x, y in e for m in (
            {"role": "assistant", "content": x}, {"role": "user", "content": y})] + [{"role": "user", "content": q}]

    wrongs = [lambda d, e, q: few_shot_messages(d, e, q)[1:],  # no system turn
              lambda d, e, q: [{"role": "user", "content": d + " " + q}],  # everything in one turn
              swapped,
              lambda d, e, q: few_shot_messages(d, e, q)[:-1],  # the query left out
              lambda d, e, q: [{"role": "user", "content": d}] + few_shot_messages(d, e, q)[1:]]  # description as user
    assert_checker_behaves(checks.check_few_shot_messages, lambda d, e, q: None, few_shot_messages, wrongs, capsys)


def test_check_parse_label(capsys):
    def last_label(r, labels):
        found = [w for w in re.findall(r"[a-z]+", r.lower()) if w in labels]
        return found[-1] if found else None

    def substring_in_label_order(r, labels):
        return next((label for label in labels if label in r.lower()), None)

    def first_occurrence(r, labels):  # substrings: "negatively" counts as "negative"
        hits = [(r.lower().find(label), label) for label in labels if label in r.lower()]
        return min(hits)[1] if hits else None

    wrongs = [lambda r, labels: r.strip().lower() or None,  # exact match only
              lambda r, labels: "positive",
              last_label, substring_in_label_order, first_occurrence,
              lambda r, labels: parse_label(r, labels) or "",  # "" instead of None
              lambda r, labels: next((w for w in re.findall(r"[A-Za-z]+", r) if w in labels), None)]  # case-sensitive
    assert_checker_behaves(checks.check_parse_label, lambda r, labels: None, parse_label, wrongs, capsys)
