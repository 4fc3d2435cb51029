"""A private CA and server certificates it signed, made with `cryptography` for tests of
verifying TLS clients (SMTP, MySQL): nothing is fetched, nothing outlives the test folder."""
import datetime
import ipaddress
from pathlib import Path
from typing import Dict

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(text):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _certificate(subject_key, subject, issuer_key, issuer, ca, names=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_tls_files(folder: Path) -> Dict[str, str]:
    """Paths of: ca (the CA's certificate), and for `server` (valid for 127.0.0.1) and `other`
    (valid for mail.example.com only): <label> (certificate and key in one PEM),
    <label>_cert and <label>_key (apart, as MariaDB takes them); `stranger_ca`, a CA that
    signed none of them."""
    folder = Path(folder)

    def pem(name, *parts):
        path = folder / name
        path.write_bytes(b"".join(parts))
        return str(path)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(ca_key, _name("taxi test CA"), ca_key, _name("taxi test CA"), ca=True)
    files = {"ca": pem("ca.pem", ca.public_bytes(serialization.Encoding.PEM))}
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    stranger = _certificate(stranger_key, _name("another CA"), stranger_key, _name("another CA"),
                            ca=True)
    files["stranger_ca"] = pem("stranger-ca.pem", stranger.public_bytes(serialization.Encoding.PEM))
    for label, names in (("server", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                         ("other", [x509.DNSName("mail.example.com")])):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(key, _name(label), ca_key, _name("taxi test CA"), ca=False,
                            names=names)
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        files[label] = pem(f"{label}.pem", cert_pem, key_pem)
        files[f"{label}_cert"] = pem(f"{label}-cert.pem", cert_pem)
        files[f"{label}_key"] = pem(f"{label}-key.pem", key_pem)
    return files
