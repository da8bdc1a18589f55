"""Card numbers (PANs): detection, keyed tokenization, masking and the tokenization key.

A raw card number must never reach a frame, a file, a log or a message. Ingest replaces it by
``card_token`` = HMAC-SHA256(key, digits), truncated; the same card always gets the same token
under one key, and without the key the token cannot be reversed or brute-forced cheaply (a bare
hash of a 16-digit PAN could be, since the keyspace is small).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from fraud.errors import ConfigError

PAN_KEY_ENV = "MOESUITE_PAN_KEY"
PAN_KEY_FILE = "pan.key"
TOKEN_HEX_CHARS = 32  # 128 bits: collisions are negligible for any realistic card population

# A PAN written with optional single spaces or dashes between digits ("4111 1111-1111 1111").
_SEPARATORS = re.compile(r"[ \-]")
_PAN_SHAPED = re.compile(r"^\d{13,19}$")
# Any run of 12+ digits (separators allowed) inside free text: masked wherever text is echoed.
_DIGIT_RUN = re.compile(r"\d(?:[ \-]?\d){11,}")


def load_or_create_pan_key(home: Path, env: Mapping[str, str] | None = None) -> bytes:
    """Return the PAN tokenization key: ``$MOESUITE_PAN_KEY`` or ``home/pan.key``.

    The key file is created once (32 random bytes, hex, mode 0600) and reused afterwards, so
    tokens stay stable across runs. Creation is race-free: the file is written under a temporary
    name and hard-linked into place, and a process that loses the race reads the winner's key.

    Args:
        home: The suite's home directory (``Settings.home``).
        env: Environment to read ``MOESUITE_PAN_KEY`` from; ``os.environ`` when None.

    Returns:
        The key bytes (at least 16).

    Raises:
        ConfigError: The environment key or the key file is too short or unreadable.
    """
    env = os.environ if env is None else env
    from_env = env.get(PAN_KEY_ENV, "")
    if from_env:
        key = from_env.encode()
        if len(key) < 16:
            raise ConfigError(f"{PAN_KEY_ENV} must be at least 16 characters long")
        return key
    path = Path(home).expanduser() / PAN_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{PAN_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process created it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the PAN key: {exc.strerror}") from exc
    if len(text) < 32:
        raise ConfigError(f"{path}: PAN key is too short; delete the file to generate a new one")
    return text.encode()


def normalize_pans(values: pd.Series) -> pd.Series:
    """Strip separators from card numbers; missing values stay missing (object dtype)."""
    text = values.astype("string[pyarrow]").str.strip()
    return text.str.replace(" ", "", regex=False).str.replace("-", "", regex=False).astype(object)


def luhn_valid(digits: pd.Series) -> np.ndarray:
    """Vectorised Luhn check of digit strings; non-digit or wrong-length values are False.

    Args:
        digits: Strings of digits (already normalised), missing allowed.

    Returns:
        Boolean array, True where the value is 13-19 digits with a valid Luhn check digit.
    """
    text = digits.astype("string").fillna("")
    shaped = text.str.fullmatch(_PAN_SHAPED).fillna(False).to_numpy(dtype=bool)
    result = np.zeros(len(text), dtype=bool)
    if not shaped.any():
        return result
    # Right-align every number in a 19-wide zero-padded grid; leading zeros do not change Luhn.
    padded = text[shaped].str.zfill(19).to_numpy(dtype="S19")
    grid = np.frombuffer(padded.tobytes(), dtype=np.uint8).reshape(-1, 19) - ord("0")
    grid = grid.astype(np.int16)  # [rows, 19 digits]
    doubled = grid[:, -2::-2] * 2  # every second digit from the right, check digit excluded
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = grid[:, -1::-2].sum(axis=1) + doubled.sum(axis=1)
    result[shaped] = total % 10 == 0
    return result


def looks_like_pan_column(values: pd.Series, sample: int = 2000, share: float = 0.95) -> bool:
    """Whether a column holds card numbers: most non-empty values are Luhn-valid 13-19 digits.

    A random 16-digit identifier passes Luhn one time in ten, so a high share keeps ordinary
    numeric ids from being mistaken for card numbers.
    """
    present = values.dropna()
    if present.empty:
        return False
    if not (pd.api.types.is_string_dtype(present) or pd.api.types.is_object_dtype(present)):
        if not pd.api.types.is_integer_dtype(present):
            return False
    head = normalize_pans(present.iloc[:sample].astype("string"))
    head = head[head.astype("string").str.len() > 0]
    if head.empty:
        return False
    return bool(luhn_valid(head).mean() >= share)


def tokenize_pans(digits: pd.Series, key: bytes) -> pd.Series:
    """Keyed tokens for normalised card numbers; missing in, missing out.

    Each distinct number is hashed once (cards repeat across transactions).
    """
    uniques = pd.unique(digits.dropna())
    tokens = {
        pan: hmac.new(key, str(pan).encode(), hashlib.sha256).hexdigest()[:TOKEN_HEX_CHARS]
        for pan in uniques
    }
    return digits.map(tokens).astype(object)


def mask_pan(text: str) -> str:
    """Mask every long digit run in free text, keeping only its last four digits."""

    def _mask(match: re.Match[str]) -> str:
        digits = _SEPARATORS.sub("", match.group(0))
        return "*" * (len(digits) - 4) + digits[-4:]

    return _DIGIT_RUN.sub(_mask, text)
