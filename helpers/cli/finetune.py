"""The command line of helpers.training.finetuning, as gpt-2-simple had one: fine-tune a named run, generate from it.

    python -m helpers.cli.finetune finetune sonnets.txt --run-name sonnets --steps 200
    python -m helpers.cli.finetune finetune titles.csv --column title --run-name titles --steps 300
    python -m helpers.cli.finetune generate --run-name titles --prefix "<|startoftext|>" \\
        --truncate "<|endoftext|>" --no-include-prefix --nsamples 20 --batch-size 10 --output titles.txt

``python -m helpers.cli.finetune DATASET ...`` (no subcommand) means ``finetune``. A text file trains as
one stream; a CSV's ``--column`` (with an optional ``--label-column`` as control prefix) becomes
``<|startoftext|>[label] text<|endoftext|>`` documents, the markers added as special tokens.
Bad input (no such file, no such column, no such run) ends with a one-line error and status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers.data import titles
from helpers.data.pretrained import load_pretrained
from helpers.training.finetuning import DOC_START_SHARE, add_tokens, finetune, generate, generate_to_file
from helpers.training.runs import RUN_INFO, load_run, run_folder

COMMANDS = ("finetune", "generate")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.cli.finetune",
                                     description="Fine-tune a pretrained model on your texts (LoRA), "
                                                 "or generate from a run.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("finetune", help="fine-tune a named run on a text file or a CSV column")
    train.add_argument("dataset", help="a UTF-8 text file, or a CSV with a header row (.csv)")
    train.add_argument("--column", default="title", help="the CSV column to train on (default: title)")
    train.add_argument("--label-column", default=None, help="a CSV column put in front of each text as [label]")
    train.add_argument("--run-name", default="run1")
    train.add_argument("--checkpoint-dir", default="checkpoint")
    train.add_argument("--model", default="smollm2-135m", help="'smollm2-135m' (offline) or a Hugging Face hub id")
    train.add_argument("--steps", type=int, default=1000, help="optimizer steps this call takes")
    train.add_argument("--total-steps", type=int, default=None,
                       help="where the learning-rate schedule ends (default: the end of this call, or the saved plan)")
    train.add_argument("--batch-size", type=int, default=4)
    train.add_argument("--block-size", type=int, default=128, help="tokens per training window")
    train.add_argument("--learning-rate", type=float, default=None, help="peak rate (default 1e-3 LoRA, 5e-5 full)")
    train.add_argument("--method", choices=("lora", "full"), default="lora")
    train.add_argument("--lora-r", type=int, default=8)
    train.add_argument("--doc-start-share", type=float, default=None,
                       help="share of each batch's windows that begin at a document start")
    train.add_argument("--restore-from", choices=("fresh", "latest"), default="fresh")
    train.add_argument("--save-every", type=int, default=500)
    train.add_argument("--sample-every", type=int, default=0, help="print a sample every N steps (0: never)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    gen = commands.add_parser("generate", help="generate texts from a saved run")
    gen.add_argument("--run-name", default="run1")
    gen.add_argument("--checkpoint-dir", default="checkpoint")
    gen.add_argument("--prefix", default=None, help="text to start from (default: the end-of-text token)")
    gen.add_argument("--truncate", default=None, help="cut each text at the first occurrence of this string")
    gen.add_argument("--include-prefix", action=argparse.BooleanOptionalAction, default=True,
                     help="keep the prefix in the output (--no-include-prefix drops it)")
    gen.add_argument("--nsamples", type=int, default=1)
    gen.add_argument("--batch-size", type=int, default=1)
    gen.add_argument("--length", type=int, default=256, help="new tokens per text")
    gen.add_argument("--temperature", type=float, default=0.7)
    gen.add_argument("--top-k", type=int, default=0, help="0: off")
    gen.add_argument("--top-p", type=float, default=0.0, help="0: off")
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--output", default=None, help="write the texts to this file (==== between them)")
    return parser


def _dataset(args):
    """Return (texts, new_tokens): the file's text, or a CSV column as documents with start/end markers."""
    path = Path(args.dataset)
    if not path.is_file():
        raise FileNotFoundError(f"no dataset file at {path.as_posix()}: check the path (a .txt or .csv file)")
    if path.suffix.lower() != ".csv":
        return path, []
    data = titles.load_titles(path, column=args.column, label_column=args.label_column)
    return titles.to_documents(data.texts, data.labels), [titles.START, titles.END]


def _finetune(args) -> None:
    dataset, markers = _dataset(args)  # bad files and columns fail here, before the model loads
    model, tokenizer = load_pretrained(args.model)
    restoring = args.restore_from == "latest" and (Path(args.checkpoint_dir) / args.run_name / RUN_INFO).exists()
    train_tokens = None
    if markers and not restoring:  # a restored run brings its own tokenizer with the markers
        like = "<|im_start|>" if "<|im_start|>" in tokenizer.get_vocab() else None
        train_tokens = add_tokens(model, tokenizer, markers, like=like)
    _, history = finetune(model, tokenizer, dataset, run_name=args.run_name, checkpoint_dir=args.checkpoint_dir,
                          steps=args.steps, total_steps=args.total_steps, batch_size=args.batch_size,
                          block_size=args.block_size, learning_rate=args.learning_rate, method=args.method,
                          lora_r=args.lora_r, train_tokens=train_tokens, restore_from=args.restore_from,
                          doc_start_share=DOC_START_SHARE if args.doc_start_share is None else args.doc_start_share,
                          save_every=args.save_every, sample_every=args.sample_every, seed=args.seed,
                          progress=not args.quiet)
    print(f"run {args.run_name!r}: step {history.step[-1]}, last loss {history.loss[-1]:.3f}, "
          f"saved in {(Path(args.checkpoint_dir) / args.run_name).as_posix()}/")


def _generate(args) -> None:
    run_folder(args.run_name, args.checkpoint_dir)  # a missing run fails before anything loads
    model, tokenizer = load_run(args.run_name, args.checkpoint_dir)
    options = dict(prefix=args.prefix, truncate=args.truncate, include_prefix=args.include_prefix,
                   nsamples=args.nsamples, batch_size=args.batch_size, length=args.length,
                   temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    if args.output:
        path = generate_to_file(model, tokenizer, args.output, **options)
        print(f"{args.nsamples} texts written to {path.as_posix()}")
    else:
        generate(model, tokenizer, **options)


def main(argv: list[str] | None = None) -> None:
    """Run the command line with ``argv`` (default: sys.argv[1:]); bad input exits with status 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "finetune")  # gpt-2-simple style: python -m helpers.cli.finetune DATASET ...
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _finetune(args) if args.command == "finetune" else _generate(args)
    except (FileNotFoundError, ValueError) as e:
        parser.exit(2, f"error: {e}\n")


if __name__ == "__main__":
    main()
