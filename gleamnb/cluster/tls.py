"""TLS for a gleamnb cluster: self-signed certificates beside the discovery record.

``gleamnb cluster start --tls`` makes a private key and a self-signed certificate for the
cluster (:func:`make_certificates`), in ``<records folder>/tls/<name>/`` (the folder mode
0700, the files 0600), and the record names them. The scheduler, the workers, their nannies,
the ``gleamnb`` command and every client use the same certificate, as client and as server,
with the certificate itself as the only authority (:func:`security`), and Dask refuses any
connection that is not TLS with that certificate: a client without the files cannot connect.
The files go when ``gleamnb cluster stop`` removes the record.

This needs the ``cryptography`` package (``pip install "gleamnb[tls]"``).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path
from typing import Any

__all__ = ["make_certificates", "security", "folder", "FILES"]

#: The files of a cluster's TLS folder, by role.
FILES = {"ca": "ca.pem", "cert": "cert.pem", "key": "key.pem"}

#: How long the certificate is valid (days).
VALID_DAYS = 365


def folder(records_folder: str | os.PathLike[str], name: str) -> Path:
    """The TLS folder of cluster ``name`` under the records' folder.

    >>> folder("/tmp/x", "default")
    PosixPath('/tmp/x/tls/default')
    """
    return Path(records_folder) / "tls" / name


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file only its owner can read (mode 0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def make_certificates(where: str | os.PathLike[str], host: str = "127.0.0.1") -> dict[str, str]:
    """Make a key and a self-signed certificate in folder ``where``; their paths by role.

    The certificate names ``host``, ``localhost`` and ``127.0.0.1`` (Dask does not check
    host names, but other TLS clients of the dashboard may).

    Examples
    --------
    >>> import tempfile, stat
    >>> paths = make_certificates(tempfile.mkdtemp())
    >>> sorted(paths), stat.S_IMODE(os.stat(paths["key"]).st_mode) == 0o600
    (['ca', 'cert', 'key'], True)
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    out = Path(where)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gleamnb cluster")])
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for h in {host, "127.0.0.1"}:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    paths = {role: str(out / file) for role, file in FILES.items()}
    _write_private(
        Path(paths["key"]),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_private(Path(paths["cert"]), pem)
    _write_private(Path(paths["ca"]), pem)
    return paths


def security(paths: dict[str, str] | None) -> Any:
    """Dask's ``Security`` for the certificate files ``paths`` (None: plain TCP, None).

    Every role uses the cluster's certificate, and encryption is required.
    """
    if not paths:
        return None
    from distributed.security import Security

    ca, cert, key = paths["ca"], paths["cert"], paths["key"]
    return Security(
        tls_ca_file=ca,
        tls_client_cert=cert,
        tls_client_key=key,
        tls_scheduler_cert=cert,
        tls_scheduler_key=key,
        tls_worker_cert=cert,
        tls_worker_key=key,
        require_encryption=True,
    )
