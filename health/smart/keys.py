"""The OpenID Connect signing key of the SMART authorisation server, read by settings.

Kept apart from the rest of health.smart so settings can call it without loading Django
models. The key is the operator's (SMART_OIDC_PRIVATE_KEY, PEM) or, when none is given, one
generated once and kept in a file beside the database (mode 0600): tokens signed with it
stay verifiable across restarts and between the web process and the worker.
"""

import os
from pathlib import Path


def private_key(configured, path):
    """The PEM text of the RSA signing key: `configured` if given, else the key in `path`,
    created there (complete files only, so two processes starting together agree) when missing."""
    if configured.strip():
        return configured
    path = Path(path)
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    try:
        os.link(temporary, path)  # atomic, and refuses to replace a key another process made
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text()
