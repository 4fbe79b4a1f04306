"""The key that signs session cookies: ``KAIFONG_SECRET_KEY`` when given, else a random one kept
in ``DATA_DIR/secret_key`` (mode 0600), so restarts do not sign everyone out and processes on one
machine agree. Never printed or logged."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "secret_key"


def load_or_create_secret_key(data_dir: str | Path) -> str:
    path = Path(data_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # written whole to a private file, then linked into place: linking fails if another
        # process got there first, so every process ends up reading the same complete key
        tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret key; delete it or set "
                           "KAIFONG_SECRET_KEY")
    return key
