"""The command line, end to end on the real SmolLM2-135M: a tiny run on real text, generation to a file,
a CSV column as documents, and one-line errors for the usual mistakes."""
import csv
import json
import os
import re
import subprocess
import sys

import pytest

import helpers
from helpers.cli.finetune import main
from helpers.course.runtime import REPO_ROOT
from helpers.training.finetuning import SEPARATOR

QUICK = ["--steps", "2", "--batch-size", "1", "--block-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def sonnets_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "sonnets.txt"
    path.write_text("\n\n".join(helpers.load_sonnets()[:3]), encoding="utf-8")
    return path


@pytest.mark.download
def test_finetune_then_generate_to_a_file(sonnets_file, tmp_path, capsys):
    checkpoint = str(tmp_path / "checkpoint")
    main([str(sonnets_file), "--run-name", "poems", "--checkpoint-dir", checkpoint, "--learning-rate", "3e-3", *QUICK])
    assert "run 'poems': step 2" in capsys.readouterr().out
    info = json.loads((tmp_path / "checkpoint" / "poems" / "run.json").read_text())
    assert info["step"] == 2 and info["method"] == "lora" and len(info["history"]["loss"]) == 2
    main(["finetune", str(sonnets_file), "--run-name", "poems", "--checkpoint-dir", checkpoint,
          "--restore-from", "latest", *QUICK])
    assert json.loads((tmp_path / "checkpoint" / "poems" / "run.json").read_text())["step"] == 4
    out = tmp_path / "samples.txt"
    main(["generate", "--run-name", "poems", "--checkpoint-dir", checkpoint, "--prefix", "Shall I",
          "--no-include-prefix", "--nsamples", "3", "--batch-size", "2", "--length", "8", "--temperature", "0.9",
          "--top-k", "40", "--top-p", "0.95", "--seed", "1", "--output", str(out)])
    assert "3 texts written to" in capsys.readouterr().out
    texts = out.read_text(encoding="utf-8").split(f"\n{SEPARATOR}\n")
    assert len(texts) == 4 and texts[-1] == "" and not any(t.startswith("Shall I") for t in texts[:3])
    main(["generate", "--run-name", "poems", "--checkpoint-dir", checkpoint, "--prefix", "Shall I", "--length", "4",
          "--seed", "1"])
    printed = capsys.readouterr().out
    assert printed.startswith("Shall I") and printed.endswith(SEPARATOR + "\n")


@pytest.mark.download
def test_a_csv_column_becomes_documents_with_markers(tmp_path, capsys):
    path = tmp_path / "titles.csv"
    lines = [line for line in helpers.load_sonnets()[0].splitlines()[:8]]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["headline", "section"])
        writer.writerows([line, "a" if i % 2 else "b"] for i, line in enumerate(lines))
    checkpoint = str(tmp_path / "checkpoint")
    main(["finetune", str(path), "--column", "headline", "--label-column", "section", "--run-name", "t",
          "--checkpoint-dir", checkpoint, *QUICK])
    info = json.loads((tmp_path / "checkpoint" / "t" / "run.json").read_text())
    assert len(info["train_tokens"]) == 2  # <|startoftext|> and <|endoftext|>, whose rows train
    main(["generate", "--run-name", "t", "--checkpoint-dir", checkpoint, "--prefix", "<|startoftext|>",
          "--truncate", "<|endoftext|>", "--no-include-prefix", "--length", "6", "--seed", "0"])
    assert "<|endoftext|>" not in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["finetune", "missing.txt"], "error: no dataset file at missing.txt: check the path"),
    (["generate", "--run-name", "nope", "--checkpoint-dir", "{tmp}"], "error: no run 'nope' in .*runs there: none"),
])
def test_bad_input_exits_with_one_line(argv, message, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert re.search(message, err), err


def test_a_wrong_column_names_the_columns_there_are(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("headline\nLocal cat elected mayor\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["finetune", str(path)])
    assert "error: t.csv has no column 'title' (its columns: 'headline'): pass column=" in capsys.readouterr().err


def test_python_dash_m_runs_the_command_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "helpers.cli.finetune", str(tmp_path / "none.txt")], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2 and done.stderr.strip().endswith("check the path (a .txt or .csv file)")
    assert "Traceback" not in done.stderr
    shown = subprocess.run([sys.executable, "-m", "helpers.cli.finetune", "generate", "--help"], capture_output=True,
                           text=True, env=env, timeout=300)
    assert shown.returncode == 0 and "--include-prefix" in shown.stdout and "--top-p" in shown.stdout
