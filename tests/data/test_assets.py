"""Assets from PyPI: real downloads (the test suite's machines reach PyPI), checksums, bad input."""
import zipfile

import pytest

from helpers.data import assets
from helpers.data.assets import AssetError, asset_path, distribution_file


@pytest.fixture
def empty_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    return tmp_path


@pytest.mark.download
def test_real_download_check_extract_then_cached_call_needs_no_network(empty_cache, monkeypatch):
    path = asset_path("randfacts", "randfacts/safe.txt")  # a 271 KB text inside a 0.2 MB wheel
    assert path.is_file() and path.is_relative_to(empty_cache)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 7000
    archive = empty_cache / "downloads" / assets.ASSETS["randfacts"].filename
    assert assets.sha256_of(archive) == assets.ASSETS["randfacts"].sha256

    def no_network(*args, **kwargs):
        raise AssertionError("a cached call must not run pip")

    monkeypatch.setattr(assets.subprocess, "run", no_network)
    assert asset_path("randfacts", "randfacts/safe.txt") == path
    # another member of the cached archive: extracted without a download either
    assert asset_path("randfacts", "randfacts/__init__.py").is_file()


def test_unknown_asset_name_lists_known_names():
    with pytest.raises(AssetError, match="unknown asset 'shakespeare'.*smollm2"):
        asset_path("shakespeare", "x.txt")


def test_bad_checksum_is_one_line_and_says_to_delete(empty_cache):
    folder = empty_cache / "downloads"
    folder.mkdir()
    bogus = folder / assets.ASSETS["randfacts"].filename
    with zipfile.ZipFile(bogus, "w") as zf:
        zf.writestr("randfacts/safe.txt", "not the real file\n")
    with pytest.raises(AssetError) as info:
        asset_path("randfacts", "randfacts/safe.txt")
    message = str(info.value)
    assert "checksum mismatch" in message and "delete" in message and "\n" not in message
    assert not (empty_cache / "randfacts-0.24.4" / "randfacts" / "safe.txt").exists()


def test_no_network_and_empty_cache_says_what_to_do(empty_cache, monkeypatch):
    # a pip that can reach no index: no config files, an index on a closed loopback port
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(AssetError) as info:
        distribution_file("chatterbot")
    message = str(info.value)
    assert "chatterbot-corpus==1.3.3" in message and "no network" in message and "\n" not in message
    assert "COURSE_CACHE" in message


@pytest.mark.download
def test_missing_member_is_named(empty_cache):
    with pytest.raises(AssetError, match="no member 'randfacts/nothing.txt'"):
        asset_path("randfacts", "randfacts/nothing.txt")


def _build_and_place(args):
    from helpers.data.assets import building_folder, place_folder

    folder, n = args
    built = building_folder(folder)
    built.mkdir(parents=True)
    for i in range(50):  # slow enough that the processes overlap
        (built / f"part{i}.txt").write_text(str(i) * 1000)
    (built / "config.json").write_text(str(n))
    place_folder(built, folder, "config.json")
    return sorted(p.name for p in folder.iterdir())


def test_processes_building_one_cache_folder_at_once_all_see_it_whole(tmp_path):
    import multiprocessing

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "part0.txt").write_text("half")  # a folder an interrupted run left, without its marker
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        seen = pool.map(_build_and_place, [(folder, n) for n in range(4)])
    whole = sorted([f"part{i}.txt" for i in range(50)] + ["config.json"])
    assert all(names == whole for names in seen)  # every process found a complete folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no .part folder left behind
