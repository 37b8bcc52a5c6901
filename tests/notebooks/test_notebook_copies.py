"""A function a notebook writes under a helper's name computes what that helper computes.

The notebooks build functions step by step; the final versions live in helpers/. A notebook's
top-level ``def`` (or ``class``) named like a public function or class of helpers/ is a teaching
copy of it, and a copy must not drift: each one is listed in COPIES below with a small shared
input, run from the notebook's own definitions (the cell's and the earlier cells', nothing that
computes) and compared with the helper. A notebook function that only shares the name and does
something else on purpose has to be renamed, so nobody takes it for the helper.

Exercise stubs are left out: a cell that hands its function to a checker
(``top_p_filter = checks.check_top_p(top_p_filter)``) is compared with the helper by that checker
(test_exercises.py runs the stub and the hidden solution through it). Earlier exercises count as
solved here: their hidden solutions stand in for the stubs.
"""
import ast
import importlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from helpers.models.gpt import GPTConfig
from tests.notebooks.cells import CHECK_CALL, NOTEBOOKS, ROOT, context, definitions, load_cells, python_of, source

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def helper_names() -> dict[str, list[str]]:
    """Return {name: [modules]} of the public top-level functions and classes of helpers/."""
    names: dict[str, list[str]] = {}
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, DEFINITIONS) and not node.name.startswith("_"):
                names.setdefault(node.name, []).append(module)
    return names


def notebook_copies() -> dict[tuple[str, str], list[int]]:
    """Return {(notebook, name): [cell indices]} of the top-level definitions named like a helper, stubs excluded."""
    helpers = helper_names()
    found: dict[tuple[str, str], list[int]] = {}
    for path in NOTEBOOKS:
        for index, cell in enumerate(load_cells(path)):
            if cell["cell_type"] != "code":
                continue
            text = source(cell)
            try:
                tree = ast.parse(python_of(text))
            except SyntaxError as error:
                raise AssertionError(f"{path.name} cell {index} is not Python: {error}") from error
            stubs = {answer for _, answer in CHECK_CALL.findall(text)}
            for node in tree.body:
                if isinstance(node, DEFINITIONS) and node.name in helpers and node.name not in stubs:
                    found.setdefault((path.stem, node.name), []).append(index)
    return found


# --- the shared inputs, and how each copy is called next to its helper ------------------------------

def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# rows of 12 logits rounded to integers, so that ties occur (top-k keeps every tie with the k-th largest)
LOGITS = (2 * torch.randn(3, 12, generator=_generator())).round()
GENERATED = torch.randint(12, (3, 9), generator=_generator(1))  # tokens "generated so far", repeats included
IDS = torch.arange(40)  # a corpus of 40 ids: every window is told apart by its first id
SONNETS = ["Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:",
           "When, in disgrace with fortune and men's eyes,\nI all alone beweep my outcast state,"]
PROBES = ["shall I compare THEE, to a winter's night", "Thou art more lovely, fortune!", "nothing here", ""]


def same_module(config: dict, ours_args: tuple, shape: tuple) -> Callable:
    """Build the notebook's module and the helper's (``GPTConfig(**config)``), share the weights, run both on x."""
    def compare(ours, theirs, namespace):
        torch.manual_seed(0)
        mine, helper = ours(*ours_args), theirs(GPTConfig(**config))
        helper.load_state_dict(mine.state_dict())  # the same parameter names and shapes, or this raises
        x = torch.randn(*shape, generator=_generator(2))
        with torch.no_grad():
            return mine(x), helper(x)
    return compare


def same_batches(ours, theirs, namespace):
    namespace["data"] = IDS  # the notebook's get_batch reads its corpus from the global `data`
    pairs = []
    for seed in range(3):
        torch.manual_seed(seed)
        pairs.append((ours(5, 8), theirs(IDS, 5, 8, _generator(seed), "cpu")))
    return [p[0] for p in pairs], [p[1] for p in pairs]


SAMPLING_KNOBS = [dict(temperature=0.8), dict(top_k=3), dict(temperature=1.2, top_p=0.9),
                  dict(temperature=0.7, top_k=5, top_p=0.95)]


@dataclass(frozen=True)
class Copy:
    helper: str  # the helper's module
    compare: Callable  # (the notebook's object, the helper's, the notebook's namespace) -> (its output, the helper's)


def calls(*arguments) -> Callable:
    """Call both with each tuple of ``arguments``."""
    return lambda ours, theirs, namespace: ([ours(*a) for a in arguments], [theirs(*a) for a in arguments])


COPIES = {
    ("02_gpt_block", "MLP"): Copy("helpers.models.gpt", same_module(dict(n_embd=16), (16,), (2, 5, 16))),
    ("02_gpt_block", "CausalSelfAttention"): Copy(
        "helpers.models.gpt", same_module(dict(n_embd=16, n_head=4, block_size=8), (16, 4, 8), (2, 6, 16))),
    ("02_gpt_block", "Block"): Copy(
        "helpers.models.gpt", same_module(dict(n_embd=16, n_head=4, block_size=8), (16, 4, 8), (2, 6, 16))),
    ("02_gpt_block", "get_batch"): Copy("helpers.training.loop", same_batches),
    ("05_decoding", "apply_temperature"): Copy("helpers.generation.sampling", calls((LOGITS, 0.5), (LOGITS, 2.0))),
    ("05_decoding", "top_k_filter"): Copy("helpers.generation.sampling",
                                          calls((LOGITS, 1), (LOGITS, 3), (LOGITS, 11), (LOGITS, 12))),
    ("05_decoding", "sample_next"): Copy(
        "helpers.generation.sampling",
        lambda ours, theirs, namespace: ([ours(LOGITS, generator=_generator(3), **kw) for kw in SAMPLING_KNOBS],
                                         [theirs(LOGITS, generator=_generator(3), **kw) for kw in SAMPLING_KNOBS])),
    ("05_decoding", "apply_penalties"): Copy(
        "helpers.generation.sampling",
        calls((LOGITS, GENERATED, 0.5, 0.0), (LOGITS, GENERATED, 0.0, 1.0), (LOGITS, GENERATED, -0.5, 0.8))),
    ("08_finetune_poetry", "words_of"): Copy("helpers.training.finetuning", calls(*[(p,) for p in PROBES + SONNETS])),
    ("08_finetune_poetry", "longest_shared_ngram"): Copy("helpers.training.finetuning",
                                                         calls(*[(p, SONNETS) for p in PROBES])),
    ("10_few_shot_prompting", "few_shot_prompt"): Copy(
        "helpers.api.prompts",
        calls(("  Translate English to French:\n", [("sea otter", "loutre de mer"), ("cheese", "fromage")], "bread"),
              ("", [("good film", "positive")], "dull plot", "->"),
              ("Label the review.", [], "a delight"))),
}


def same(a, b) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return torch.allclose(a, b, atol=1e-5, rtol=1e-5) if a.is_floating_point() else torch.equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


FOUND = notebook_copies()


def test_every_copy_of_a_helper_is_compared_with_it():
    helpers = helper_names()
    unchecked = [f"{notebook}.ipynb cell {cells[0]}: {name} has the name of {' and '.join(helpers[name])}.{name}"
                 for (notebook, name), cells in sorted(FOUND.items()) if (notebook, name) not in COPIES]
    assert not unchecked, (
        "a notebook defines a function or class named like a helper, and nothing checks that it computes what the "
        "helper computes. Rename it in the notebook (and say in a comment how it differs), or compare it with the "
        "helper in the notebook and register it in COPIES with a shared input:\n  " + "\n  ".join(unchecked))
    gone = sorted(set(COPIES) - set(FOUND))
    assert not gone, f"COPIES lists copies the notebooks no longer define: {gone}"


@pytest.mark.parametrize("notebook, name", sorted(COPIES), ids=[f"{nb[:2]}-{name}" for nb, name in sorted(COPIES)])
def test_copy_computes_what_the_helper_computes(notebook, name):
    copy = COPIES[(notebook, name)]
    assert copy.helper in helper_names().get(name, []), f"{copy.helper} defines no {name}"
    theirs = getattr(importlib.import_module(copy.helper), name)
    path = ROOT / "notebooks" / f"{notebook}.ipynb"
    cells = load_cells(path)
    for index in FOUND.get((notebook, name), []):
        namespace: dict = {}
        code = context(path, index, solved=True) + "\n" + definitions(source(cells[index]))
        exec(compile(code, f"{path.name}:{index}", "exec"), namespace)
        with torch.random.fork_rng():
            ours, helper = copy.compare(namespace[name], theirs, namespace)
        assert same(ours, helper), (f"{path.name} cell {index}: {name} no longer computes what {copy.helper}.{name} "
                                    f"computes:\n  notebook: {ours!r}\n  helper:   {helper!r}")


if __name__ == "__main__":  # the inventory: python -m tests.notebooks.test_notebook_copies
    modules = helper_names()
    for (notebook, name), cells in sorted(FOUND.items()):
        state = f"compared with {COPIES[(notebook, name)].helper}" if (notebook, name) in COPIES else "NOT COMPARED"
        print(f"{notebook:<24} cell {','.join(map(str, cells)):<4} {name:<22} {', '.join(modules[name]):<48} {state}")
