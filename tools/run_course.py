"""Run the course's notebooks like a teacher before a workshop: `python course.py run [NN ...] [--quick] [--html]`.

Each chosen notebook is executed top to bottom in a fresh kernel, in order, with a progress bar;
the first error stops the run with the notebook, the cell and the error's last line. The executed
copies go to an output folder (the committed notebooks are only overwritten with --inplace). At the
end a table says, per notebook: mode, device and precision, run time, and its key figures (what
`helpers.record` showed) next to the committed full-mode values. `--html` also builds a static site:
one page per notebook and an index with the table and each notebook's plots, opened from the file
system with no server.

An executed notebook is written with its stream outputs coalesced (``coalesce_streams``): a progress
bar keeps its last state, not the hundreds of redraws the kernel sent. `--coalesce-only` does just that
to notebooks executed some other way (e.g. by `jupyter nbconvert --execute`), without running them.
"""
from __future__ import annotations

import argparse
import base64
import copy
import html
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))
from helpers.course.figures import figures_of  # (the key figures helpers.record left in a notebook's outputs)
from helpers.course.messages import translate  # (the site's own words in the notebooks' language)


def notebook_paths(wanted: list[str], folder: Path = NOTEBOOKS) -> list[Path]:
    """Return the notebooks named by number ("04") or name, in course order; all of them by default."""
    every = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not wanted:
        return every
    chosen = []
    for word in wanted:
        found = [p for p in every if p.name.startswith(word.zfill(2) + "_") or p.stem == word or p.name == word]
        if not found:
            numbers = ", ".join(p.name[:2] for p in every)
            raise SystemExit(f"no notebook {word!r}: give numbers ({numbers}) or names like 04_pretraining")
        chosen += [p for p in found if p not in chosen]
    return sorted(chosen)


def versions_of(notebook: dict) -> dict[str, str]:
    """Return what the versions cell printed ("device", "precision", "mode", ...), by key."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code" and "helpers.versions(" in "".join(cell.get("source", [])):
            streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
            text = "".join("".join(o.get("text", "")) for o in streams)
            return dict(line.split(None, 1) for line in text.splitlines() if len(line.split(None, 1)) == 2)
    return {}


def images_of(notebook: dict) -> list[str]:
    """Return the base64 PNGs a notebook's outputs hold, in order."""
    return [o["data"]["image/png"] for c in notebook.get("cells", []) for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})]


def _survivors(text: str) -> list[bool]:
    """Return, per character of ``text``, whether it survives its line's carriage returns.

    On each line, everything up to and including the last ``\\r`` that has more of the line after it is
    dropped (what a terminal overwrote); a ``\\r`` at the end of a line, as in ``\\r\\n``, drops nothing.
    This is nbval's and nbclient's rule (their regex ``^.*\\r(?=[^\\n])``), written out per character.
    """
    keep = [True] * len(text)
    start = 0
    for line in text.split("\n"):
        cut = line.rfind("\r", 0, len(line) - 1)  # the last \r with a character after it on this line
        keep[start:start + cut + 1] = [False] * (cut + 1)
        start += len(line) + 1
    return keep


def coalesce_streams(notebook: dict) -> dict:
    """Return a copy of ``notebook`` whose stream outputs read as the finished cell would, bar redraws gone.

    A kernel sends a tqdm bar redraw by redraw (``"\\rtraining: 12%|█▏ | 245/2000 ..."``), and a notebook
    executed by nbclient/nbconvert stores each as its own stream output: a 1,500-step loop leaves 1,500
    of them. In each cell, this function reads each stream (stdout, stderr) as one text, the way a
    terminal and nbval do (a bar's line goes on across a ``tqdm.write`` to the other stream), applies its
    carriage returns (see ``_survivors``: a bar keeps its last state), then gives each output the
    characters of its own that survive, drops the outputs left empty and merges consecutive outputs of
    the same stream. So stdout and stderr stay separate and in their order; text without ``\\r`` is kept
    as it was (merged); other outputs (display_data, execute_result, error) are not touched; and what
    nbval compares (it merges each stream of a cell and applies the same rule, to the committed outputs
    and the new ones alike) is unchanged. Unlike nbclient's own ``coalesce_streams`` option, the stdout
    printed between a bar's redraws is not moved to the top of the cell. ``\\b`` is left as it is.
    Works on a ``nbformat`` notebook (text a string) and on a notebook's JSON (text a list of lines),
    and keeps that form. Only stored outputs change: what Jupyter or Colab shows live is not affected.
    """
    notebook = copy.deepcopy(notebook)
    for cell in notebook.get("cells", []):
        streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        if not streams:
            continue
        as_lines = isinstance(streams[0]["text"], list)
        texts = {id(o): "".join(o["text"]) for o in streams}
        kept = {}
        for name in dict.fromkeys(o["name"] for o in streams):
            mine = [o for o in streams if o["name"] == name]
            keep = iter(_survivors("".join(texts[id(o)] for o in mine)))
            for o in mine:
                kept[id(o)] = "".join(c for c, k in zip(texts[id(o)], keep) if k)
        new = []
        for output in cell["outputs"]:
            if output.get("output_type") == "stream":
                if not kept[id(output)]:
                    continue
                if new and new[-1].get("output_type") == "stream" and new[-1]["name"] == output["name"]:
                    new[-1]["text"] += kept[id(output)]
                    continue
                output["text"] = kept[id(output)]
            new.append(output)
        for output in new:
            if as_lines and output.get("output_type") == "stream":
                output["text"] = output["text"].splitlines(True)  # as nbformat writes a notebook's text
        cell["outputs"] = new
    return notebook


def execute(path: Path, destination: Path, quick: bool, timeout: int) -> tuple[dict, float, str | None]:
    """Execute one notebook in a fresh kernel; return (executed notebook, seconds, error line or None)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from tqdm import tqdm

    nb = nbformat.read(path, as_version=4)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    bar = tqdm(total=len(code_cells), desc=path.stem, unit="cell", mininterval=1.0)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            on_cell_executed=lambda **kw: bar.update(1))
    if quick:
        os.environ["COURSE_QUICK"] = "1"
    else:
        os.environ.pop("COURSE_QUICK", None)
    error = None
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as failure:
        index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and
                      any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(failure))  # the traceback's terminal colours
        last = [line for line in plain.strip().splitlines() if line.strip()]
        number = code_cells.index(index) + 1 if index in code_cells else "?"
        error = f"{path.name} stopped at code cell {number} (cell index {index}): {last[-1] if last else failure}"
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    destination.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(coalesce_streams(nb), destination)  # a progress bar's last state, not every redraw
    return json.loads(destination.read_text(encoding="utf-8")), seconds, error


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def summary_rows(results: list[dict]) -> list[dict]:
    return [{"notebook": r["name"], "mode": r["mode"], "device": r["versions"].get("device", "?"),
             "precision": r["versions"].get("precision", "?").split(" (")[0], "seconds": round(r["seconds"], 1),
             "figures": {k: v.get("text", v.get("value")) for k, v in r["figures"].items()},
             "reference": {k: v.get("text", v.get("value")) for k, v in r["reference"].items()},
             "error": r["error"]} for r in results]


def table(rows: list[dict]) -> str:
    """Return the summary as a Markdown table: one row per notebook, figures as 'name = value (committed: ref)'."""
    lines = ["| notebook | mode | device | precision | time | key figures (committed full-mode value) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        figures = "; ".join(f"{k} = {v}" + (f" ({row['reference'][k]})" if k in row["reference"] else "")
                            for k, v in row["figures"].items()) or "–"
        if row["error"]:
            figures = f"STOPPED: {row['error']}"
        minutes, seconds = divmod(row["seconds"], 60)
        took = f"{int(minutes)} min {seconds:.0f} s" if minutes else f"{seconds:.1f} s"
        lines.append(f"| {row['notebook']} | {row['mode']} | {row['device']} | {row['precision']} | {took} "
                     f"| {_cell(figures)} |")
    return "\n".join(lines)


def build_site(executed: list[Path], rows: list[dict], site: Path, lang: str = "en") -> Path:
    """Write one HTML page per executed notebook and an index (table, figures, plots); return the index.

    ``lang`` is the notebooks' language: the index's own words follow it (helpers.course.messages).
    """
    def say(text: str) -> str:
        return html.escape(translate(text, lang))

    import nbformat
    from nbconvert import HTMLExporter

    site.mkdir(parents=True, exist_ok=True)
    (site / "img").mkdir(exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    sections = []
    for path, row in zip(executed, rows):
        body, _ = exporter.from_notebook_node(nbformat.read(path, as_version=4))
        page = f"{path.stem}.html"
        (site / page).write_text(body, encoding="utf-8")
        notebook = json.loads(path.read_text(encoding="utf-8"))
        thumbs = []
        for i, png in enumerate(images_of(notebook)):
            name = f"img/{path.stem}-{i + 1}.png"
            (site / name).write_bytes(base64.b64decode(png))
            thumbs.append(f'<a href="{page}"><img src="{name}" alt="plot {i + 1} of {html.escape(path.stem)}"></a>')
        figures = "".join(f"<li><code>{html.escape(k)}</code> = {html.escape(str(v))}"
                          + (f" <span class=ref>(committed: {html.escape(str(row['reference'][k]))})</span>"
                             if k in row["reference"] else "") + "</li>" for k, v in row["figures"].items())
        sections.append(f'<section id="{path.stem}"><h2><a href="{page}">{html.escape(path.stem)}</a></h2>'
                        f'<ul>{figures or "<li>" + say("no key figures") + "</li>"}</ul>'
                        f'<div class=plots>{"".join(thumbs)}</div></section>')
    columns = ("notebook", "mode", "device", "precision", "time (s)", "key figures")
    head_cells = "".join(f"<th>{say(h)}</th>" for h in columns)
    body_rows = "".join(
        f'<tr><td><a href="{html.escape(Path(p).stem)}.html">{html.escape(r["notebook"])}</a></td><td>{r["mode"]}</td>'
        f'<td>{html.escape(r["device"])}</td><td>{html.escape(r["precision"])}</td><td>{r["seconds"]}</td>'
        f'<td>{html.escape("; ".join(f"{k} = {v}" for k, v in r["figures"].items()) or (r["error"] or "–"))}</td></tr>'
        for p, r in zip(executed, rows))
    title = say("GPT from scratch: the course, executed")
    command = "python course.py run --html" + (f" --lang {lang}" if lang != "en" else "")
    when = time.strftime("%Y-%m-%d %H:%M")
    about = say("Each notebook's page shows it as executed on this machine; the table gives its run time and key "
                "figures, with the committed full-mode values in brackets.")
    index = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;width:100%}}
th,td{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;font-size:.9rem}}
th{{background:#f3f3f3}}.plots img{{height:9rem;margin:.2rem;border:1px solid #ddd}}.ref{{color:#777}}</style></head>
<body><h1>{title}</h1>
<p>{say(f"Generated by {command} on {when}.").replace(command, f"<code>{command}</code>", 1)}
{about}</p>
<table id="summary"><thead><tr>{head_cells}</tr></thead><tbody>{body_rows}</tbody></table>
{"".join(sections)}
</body></html>
"""
    (site / "index.html").write_text(index, encoding="utf-8")
    return site / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python course.py run", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="numbers or names (default: all), e.g. 04 05")
    parser.add_argument("--quick", action="store_true", help="quick mode (COURSE_QUICK=1): small sizes, ~1 min each")
    parser.add_argument("--html", action="store_true", help="also build a static site (out/run-MODE/site/index.html)")
    parser.add_argument("--out", type=Path, help="output folder (default out/run-quick or out/run-full)")
    parser.add_argument("--inplace", action="store_true", help="overwrite the committed notebooks (for the author)")
    parser.add_argument("--no-execute", action="store_true",
                        help="only build the table/site from the notebooks as they are")
    parser.add_argument("--coalesce-only", action="store_true",
                        help="only rewrite the notebooks' stream outputs in place, each progress bar at its last state "
                             "(for notebooks executed by nbconvert); nothing is executed")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a single cell may run (default 1800)")
    parser.add_argument("--lang", default="en", choices=("en", "ja"),
                        help="ja: the Japanese notebooks (notebooks/ja/), into out/run-MODE-ja (default: en)")
    parser.add_argument("--folder", type=Path, default=NOTEBOOKS, help=argparse.SUPPRESS)  # tests: other notebooks
    args = parser.parse_args(argv)
    if args.lang != "en" and args.folder == NOTEBOOKS:
        args.folder = NOTEBOOKS / args.lang
    if args.coalesce_only:
        import nbformat

        for path in notebook_paths(args.notebooks, args.folder):
            nbformat.write(coalesce_streams(nbformat.read(path, as_version=4)), path)
            print(f"coalesced the stream outputs of {os.path.relpath(path)}")
        return 0
    mode = "quick" if args.quick else "full"
    suffix = "" if args.lang == "en" else f"-{args.lang}"
    out = (args.out or ROOT / "out" / f"run-{mode}{suffix}").resolve()
    results, executed = [], []
    for path in notebook_paths(args.notebooks, args.folder):
        committed = json.loads(path.read_text(encoding="utf-8"))
        destination = path if args.inplace else out / path.name
        if args.no_execute:
            notebook, seconds, error = committed, 0.0, None
            destination = path
        else:
            notebook, seconds, error = execute(path, destination, args.quick, args.timeout)
        executed.append(destination)
        versions = versions_of(notebook)
        results.append({"name": path.stem, "mode": versions.get("mode", mode).split(" (")[0], "seconds": seconds,
                        "versions": versions, "figures": figures_of(notebook), "reference": figures_of(committed),
                        "error": error})
        if error:
            print(f"\n✗ {error}", file=sys.stderr)
            break
    rows = summary_rows(results)
    summary = table(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(summary + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print("\n" + summary)
    print(f"\nexecuted copies and summary.md/.json in {os.path.relpath(out)}/")
    if args.html:
        index = build_site(executed, rows, out / "site", args.lang)
        print(f"site: {os.path.relpath(index)} (open it in a browser; no server needed)")
    return 1 if any(r["error"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
