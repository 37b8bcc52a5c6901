"""helpers.data.titles: CSV reading, download-and-cache against a local server, the offline fallback."""
import http.server
import threading
import uuid
from functools import partial
from pathlib import Path

import pytest

from helpers.course.checks import finetune_titles as checks
from helpers.course.runtime import REPO_ROOT
from helpers.data import titles
from tests.checker_asserts import assert_checker_behaves

CSV_NAME = "reddit_titles_2000.csv"


def shared_csv() -> Path:
    """Return the reference copy of the 2,000 Reddit titles (outside the repository), or skip."""
    for folder in (REPO_ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if (folder / CSV_NAME).is_file():
            return folder / CSV_NAME
    pytest.skip(f"reference data ../shared/data/{CSV_NAME} is not on this machine")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, empty cache folder for this test only."""
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def server():
    """Serve the shared data folder on 127.0.0.1 (a free port); yield (base URL, request log, stop)."""
    folder = shared_csv().parent
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):  # keep pytest's output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    stopped = []

    def stop():
        if not stopped:
            httpd.shutdown()
            httpd.server_close()
            stopped.append(True)

    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests, stop
    stop()


def closed_port_url(name: str = CSV_NAME) -> str:
    """Return a URL on 127.0.0.1 where nothing listens (a port bound then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def test_download_caches_and_second_call_needs_no_server(cache, server):
    base, requests, stop = server
    path = titles.download_titles(f"{base}/{CSV_NAME}", timeout=5)
    assert path.parent == cache / "titles" and path.read_bytes() == shared_csv().read_bytes()
    assert requests == [f"/{CSV_NAME}"]
    stop()
    assert titles.download_titles(f"{base}/{CSV_NAME}", timeout=5) == path  # from the cache
    assert len(requests) == 1


def test_load_titles_from_the_local_server_has_both_subreddits(cache, server, capsys):
    base, _, _ = server
    data = titles.load_titles(url=f"{base}/{CSV_NAME}", timeout=5)
    assert capsys.readouterr().out == ""  # no fallback note
    assert len(data) == 2000 and data.texts[0].startswith("Trump revealed highly classified information")
    assert data.source.startswith("2,000 Reddit titles from minimaxir/textgenrnn")
    assert sorted(set(data.labels)) == ["politics", "rarepuppers"]
    assert data.labels.count("politics") == 1000
    # the judge of a new title is its nearest training title's subreddit
    assert data.category_of("This good boye did a heck of a grow") == "rarepuppers"
    assert data.category_of("Senate votes on net neutrality rules") == "politics"


def test_failed_downloads_raise_one_line_errors_and_cache_nothing(cache, server):
    base, _, _ = server
    with pytest.raises(titles.DownloadError, match="HTTP 404") as e:
        titles.download_titles(f"{base}/no_such_file.csv", timeout=5)
    assert "\n" not in str(e.value) and "load_titles(path=...)" in str(e.value)
    with pytest.raises(titles.DownloadError, match="no network") as e:
        titles.download_titles(closed_port_url(), timeout=5)
    assert "\n" not in str(e.value)
    assert not list((cache / "titles").iterdir())


@pytest.mark.download
def test_no_network_falls_back_to_facts_with_a_note(capsys):
    # the real cache (randfacts comes from there); a file name no cache holds, so the download is tried
    data = titles.load_titles(url=closed_port_url(f"never_cached_{uuid.uuid4().hex}.csv"), timeout=5)
    note = capsys.readouterr().out
    assert note.startswith("The Reddit titles could not be downloaded") and note.count("\n") == 1
    assert len(data) == 7193 and "randfacts" in data.source
    assert set(data.labels) == {"number", "no number"}
    assert data.labels.count("number") == sum(any(c.isdigit() for c in t) for t in data.texts)
    assert data.category_of("There are 206 bones in the body") == "number"
    assert data.category_of("Cats sleep a lot") == "no number"


def test_load_titles_csv_reads_the_named_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('\ufefftitle,sub\n"A, quoted  title",x\n,y\nSecond\n', encoding="utf-8")
    assert titles.load_titles_csv(path) == ["A, quoted title", "Second"]
    assert titles.load_titles_csv(path, column="sub") == ["x", "y"]
    data = titles.load_titles(path, label_column="sub")
    assert data.texts == ["A, quoted title", "Second"] and data.labels == ["x", "none"]


def test_bad_csvs_give_one_line_errors_with_the_fix(tmp_path):
    cases = {
        "cols.csv": (b"name,subreddit\nhello,x\n", ValueError,
                     r"no column 'title' \(its columns: 'name', 'subreddit'\): pass column="),
        "empty.csv": (b"  \n", ValueError, "is empty: give a CSV with a header row"),
        "latin1.csv": ("title\ncaf\u00e9\n".encode("latin-1"), ValueError, "not UTF-8 text .*re-save it as UTF-8"),
        "header.csv": (b"title\n", ValueError, "no text in it: add one text per row"),
    }
    for name, (content, error, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(error, match=message) as e:
            titles.load_titles_csv(tmp_path / name)
        assert "\n" not in str(e.value)
    with pytest.raises(FileNotFoundError, match="no CSV file at .*missing.csv: check the path"):
        titles.load_titles_csv(tmp_path / "missing.csv")


def test_to_documents_wraps_texts_with_an_optional_control_prefix():
    assert titles.to_documents(["Hi"]) == ["<|startoftext|>Hi<|endoftext|>"]
    assert titles.to_documents(["Hi", "Yo"], "dogs") == ["<|startoftext|>[dogs] Hi<|endoftext|>",
                                                         "<|startoftext|>[dogs] Yo<|endoftext|>"]
    assert titles.to_documents(["Hi", "Yo"], ["a", "b"])[1] == "<|startoftext|>[b] Yo<|endoftext|>"
    with pytest.raises(ValueError, match="2 texts but 1 context labels"):
        titles.to_documents(["Hi", "Yo"], ["a"])
    with pytest.raises(ValueError, match="already contains"):
        titles.to_documents(["Hi<|endoftext|>"])


def test_jaccard_and_nearest():
    assert titles.jaccard("The cat sat", "the cat") == pytest.approx(2 / 3)
    assert titles.jaccard("", "") == 1.0 and titles.jaccard("a", "b") == 0.0
    corpus = ["dogs bark loudly", "the senate voted today", "cats sleep"]
    assert titles.nearest("The Senate voted", corpus) == (1, pytest.approx(3 / 4))
    # a sample with no words is near nothing, not a perfect match for a wordless training text
    assert titles.nearest("]", ["dogs bark", "\u2764\ufe0f", "cats"]) == (0, 0.0)
    with pytest.raises(ValueError, match="non-empty corpus"):
        titles.nearest("x", [])


def test_check_make_document(capsys):
    def solution(text, label):
        return f"<|startoftext|>{f'[{label}] ' if label else ''}{text}<|endoftext|>"

    wrongs = [lambda t, label: f"<|startoftext|>[{label}] {t}<|endoftext|>",  # "[None] " when there is no label
              lambda t, label: f"<|startoftext|>{t}<|endoftext|>",  # no control prefix
              lambda t, label: (f"[{label}] <|startoftext|>{t}<|endoftext|>" if label
                                else f"<|startoftext|>{t}<|endoftext|>"),
              lambda t, label: f"<|startoftext|>{f'[{label}]' if label else ''}{t}<|endoftext|>"]  # no space
    assert_checker_behaves(checks.check_make_document, lambda t, label: None, solution, wrongs, capsys)


def test_check_jaccard(capsys):
    def solution(a, b):
        A, B = titles.word_set(a), titles.word_set(b)
        return len(A & B) / len(A | B)

    wrongs = [lambda a, b: len(titles.word_set(a) & titles.word_set(b)) / max(len(a.split()), len(b.split())),
              lambda a, b: len(set(a.split()) & set(b.split())) / len(set(a.split()) | set(b.split())),  # case
              lambda a, b: (len(titles.word_set(a) & titles.word_set(b))
                            / min(len(titles.word_set(a)), len(titles.word_set(b))))]
    assert_checker_behaves(checks.check_jaccard, lambda a, b: None, solution, wrongs, capsys)


@pytest.mark.download
def test_documents_tokenize_with_the_markers_as_single_special_ids():
    import helpers
    from helpers.training.finetuning import add_tokens

    model, tok = helpers.load_pretrained()
    docs = titles.to_documents(["There are 206 bones", "Cats sleep"], ["number", "no number"])
    before = tok.encode(docs[0], add_special_tokens=False)
    ids = add_tokens(model, tok, [titles.START, titles.END], like="<|im_start|>")
    assert ids[1] == 0 and ids[0] == len(tok) - 1  # <|endoftext|> existed; <|startoftext|> is new
    for doc in docs:
        got = tok.encode(doc, add_special_tokens=False)
        assert got[0] == ids[0] and got[-1] == ids[1]
        assert got.count(ids[0]) == 1 and got.count(ids[1]) == 1
        assert tok.decode(got) == doc
    assert len(tok.encode(docs[0], add_special_tokens=False)) == len(before) - 6  # 7 pieces became 1
    assert model.get_input_embeddings().weight.shape[0] == len(tok)


def test_the_url_comes_from_the_environment_and_each_url_has_its_own_cache_file(cache, server, monkeypatch):
    base, requests, _ = server
    monkeypatch.setenv(titles.URL_ENV, f"{base}/{CSV_NAME}")
    assert titles.titles_url() == f"{base}/{CSV_NAME}"
    data = titles.load_titles(timeout=5)  # no url: COURSE_TITLES_URL's
    assert requests == [f"/{CSV_NAME}"] and len(data) == 2000
    assert data.source.startswith("2,000 Reddit titles from minimaxir/textgenrnn (MIT; sha256 6c0ad9a6c308")
    # another URL is cached apart, so a file from one source is never read for another
    assert titles.cache_name(f"{base}/a/{CSV_NAME}") != titles.cache_name(f"{base}/{CSV_NAME}")
    cached = titles.download_titles(f"{base}/{CSV_NAME}", timeout=5)
    assert cached.name == titles.cache_name(f"{base}/{CSV_NAME}") and cached.name.startswith("reddit_titles_2000-")
    monkeypatch.delenv(titles.URL_ENV)
    assert titles.titles_url() == titles.REDDIT_TITLES_URL


def test_a_file_that_is_not_textgenrnns_says_where_it_came_from(cache, tmp_path, monkeypatch):
    import http.server
    import threading
    from functools import partial

    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "t.csv").write_text("title,context_label\nA title,x\nAnother,y\n", encoding="utf-8")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(http.server.SimpleHTTPRequestHandler,
                                                                      directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/t.csv"
        data = titles.load_titles(url=url, timeout=5)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert data.texts == ["A title", "Another"]
    assert data.source.startswith(f"2 titles downloaded from {url} (sha256 ") and "not textgenrnn's file" in data.source


def test_make_document_and_parse_sample():
    assert titles.make_document("Hi", "dogs") == "<|startoftext|>[dogs] Hi<|endoftext|>"
    assert titles.make_document("Hi", None) == "<|startoftext|>Hi<|endoftext|>"
    with pytest.raises(ValueError, match="already contains"):
        titles.make_document("a<|startoftext|>b")
    assert titles.parse_sample("[politics] Senate  passes the bill<|endoftext|><|startoftext|>[x] y") == \
        ("politics", "Senate passes the bill")
    assert titles.parse_sample("A title without a label<|endoftext|>") == (None, "A title without a label")
    assert titles.parse_sample("[politics] never closed") == (None, None)  # no end marker within `length`
    assert titles.parse_sample("[politics] <|endoftext|>") == ("politics", None)  # closed, but empty
    labels = ["politics", "rarepuppers"]
    assert titles.parse_sample("[politics] Senate votes<|endoftext|>", labels) == ("politics", "Senate votes")
    # the tail of some other text, closed: not a title when every document began with a label
    assert titles.parse_sample("-Facing-The-Mire<|endoftext|><|startoftext|>[politics] x", labels) == (None, None)
    assert titles.parse_sample("[news] Senate votes<|endoftext|>", labels) == ("news", None)
