"""helpers: the small package the course notebooks share (see DESIGN in the README).

The core lives here; each station of the course has its own module (``helpers.model``,
``helpers.tokenizer``, ``helpers.attention``, ...), imported by name where it is needed.
"""
from .assets import AssetError, asset_path
from .data import load_plays, load_sonnets, read_text
from .precision import Precision, choose_precision
from .pretrained import load_pretrained, load_tokenizer
from .record import record
from .settings import QUICK_ENV, cache_dir, get_device, is_quick, seed_everything, settings, versions

__all__ = [
    "AssetError", "asset_path", "load_plays", "load_sonnets", "read_text", "load_pretrained", "load_tokenizer",
    "Precision", "choose_precision", "record",
    "QUICK_ENV", "cache_dir", "get_device", "is_quick", "seed_everything", "settings", "versions",
]
