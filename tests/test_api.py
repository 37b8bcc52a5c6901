"""helpers.api: the real local server through the real openai client, and fake endpoints for errors."""
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from checker_asserts import assert_checker_behaves
from helpers.checks import few_shot_prompting as checks
from helpers.api import (LOCAL_MODEL, ApiError, LocalServer, chat, complete, few_shot_prompt, trim_stop)
from helpers.sentiment import labelled_reviews, load_movie_reviews


@pytest.fixture(scope="module")
def server():
    srv = LocalServer().start()  # once per module: a start costs seconds
    yield srv
    srv.stop()


def test_local_server_answers_completions_with_usage(server, capsys):
    text = complete(server.client(), LOCAL_MODEL, "The capital of France is", max_tokens=4)
    assert isinstance(text, str) and text.strip()
    assert "prompt +" in capsys.readouterr().out  # usage printed per call


def test_local_server_answers_chat(server):
    reply = chat(server.client(), LOCAL_MODEL, [{"role": "user", "content": "Say hello."}], max_tokens=8)
    assert isinstance(reply, str) and reply.strip()


def test_stop_sequences_are_cut_even_though_the_server_returns_them(server):
    client = server.client()
    prompt = "one\ntwo\nthree\nfour\nfive\n"
    raw = client.completions.create(model=LOCAL_MODEL, prompt=prompt, max_tokens=8, temperature=0, stop=["\n"])
    text = complete(client, LOCAL_MODEL, prompt, max_tokens=8, stop=["\n"], verbose=False)
    assert "\n" not in text
    assert raw.choices[0].text.startswith(text)


def test_unknown_model_is_one_line(server):
    with pytest.raises(ApiError, match="does not know the model 'gpt-9'") as e:
        complete(server.client(), "gpt-9", "hi", max_tokens=1, verbose=False)
    assert "\n" not in str(e.value)


def test_prompt_longer_than_context_is_refused_before_sending(server):
    with pytest.raises(ApiError, match="context"):
        complete(server.client(), LOCAL_MODEL, "word " * 9000, max_tokens=4)


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

class _Fake(BaseHTTPRequestHandler):
    status, error = 401, {"message": "Incorrect API key provided: sk-bad.", "type": "invalid_request_error",
                          "code": "invalid_api_key"}
    hits = 0

    def do_POST(self):
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"error": self.error}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _fake_endpoint(status, error):
    handler = type("Handler", (_Fake,), {"status": status, "error": error, "hits": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1", api_key="sk-bad", max_retries=0)
    return httpd, handler, client


def test_wrong_key_gives_one_line_with_the_fix():
    httpd, handler, client = _fake_endpoint(401, _Fake.error)
    try:
        with pytest.raises(ApiError, match="401.*Incorrect API key.*check OPENAI_API_KEY") as e:
            complete(client, "gpt-3.5-turbo-instruct", "hi", max_tokens=1)
        assert "\n" not in str(e.value)
        assert handler.hits == 1  # a refused key is not retried
    finally:
        httpd.shutdown()


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

def test_trim_stop_cuts_at_the_first_of_several():
    assert trim_stop("abc\ndef###", ["###", "\n"]) == "abc"
    assert trim_stop("abc", None) == "abc"
    assert trim_stop("a => b", "=>") == "a "


def test_few_shot_prompt_has_the_gpt3_layout():
    got = few_shot_prompt("Translate English to French:", [("sea otter", "loutre de mer")], "cheese")
    assert got == "Translate English to French:\n\nsea otter => loutre de mer\ncheese =>"
    assert few_shot_prompt("", [], "cheese") == "cheese =>"


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
    import re

    for word in re.findall(r"[a-z]+", reply.lower()):
        if word in labels:
            return word
    return None


def test_check_few_shot_messages(capsys):
    wrongs = [lambda d, e, q: few_shot_messages(d, e, q)[1:],  # no system turn
              lambda d, e, q: [{"role": "user", "content": d + " " + q}]]
    assert_checker_behaves(checks.check_few_shot_messages, lambda d, e, q: None, few_shot_messages, wrongs, capsys)


def test_check_parse_label(capsys):
    wrongs = [lambda r, labels: r.strip().lower() or None,  # exact match only
              lambda r, labels: "positive"]
    assert_checker_behaves(checks.check_parse_label, lambda r, labels: None, parse_label, wrongs, capsys)
