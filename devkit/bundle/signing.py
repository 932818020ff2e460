"""Signed manifests: an SSH signature beside each manifest, made and checked with ssh-keygen.

A link's signature is `<manifest file>.sig` (`link-0003.json.sig`, `link-0006-base.json.sig`),
the armored output of `ssh-keygen -Y sign -n devkit-bundle` over the manifest's exact bytes.
The manifest records its bundle's size and SHA-256 and the previous manifest's SHA-256, so one
signature covers the link's bundle and, through the hash chain, the links before it.

Checking a signature against an allowed-signers file (the format of ssh-keygen(1), section
ALLOWED SIGNERS) takes two runs of ssh-keygen: `-Y find-principals` names who holds the key,
then `-Y verify` checks the signature for that principal and the namespace. Each run costs a
few milliseconds, so a chain of tens of links is checked in well under a second.

ssh-keygen never prompts here: it runs in a session of its own (no terminal) with
SSH_ASKPASS_REQUIRE=never, so a key protected by a passphrase fails with a clear error unless
ssh-agent holds it (then the private key's path, or its public key's, is enough).
"""

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devkit.errors import DevkitError

NAMESPACE = "devkit-bundle"
SIGNATURE_SUFFIX = ".sig"
_TIMEOUT = 60  # seconds; a hardware key waits for a touch
_KEY_CHECK = b"devkit-bundle key check"  # what `open_signer` signs to see that the key can


class SigningError(DevkitError):
    """ssh-keygen is missing, or cannot sign with the key given."""


class SignatureError(DevkitError):
    """A manifest is not signed, or its signature does not hold for the allowed signers.

    `path` is the manifest concerned, `reason` what is wrong with it; `str()` joins them.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def signature_name(manifest_file: str) -> str:
    """The file name of a manifest's signature.

    >>> signature_name("link-0006-base.json")
    'link-0006-base.json.sig'
    """
    return manifest_file + SIGNATURE_SUFFIX


def _ssh_keygen() -> str:
    path = shutil.which("ssh-keygen")
    if path is None:
        raise SigningError("ssh-keygen is not installed; install it with: "
                           "apt-get install openssh-client")
    return path


def _run(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ssh-keygen with `data` on stdin, without a terminal to prompt on."""
    env = dict(os.environ, SSH_ASKPASS_REQUIRE="never")
    try:
        return subprocess.run([_ssh_keygen(), *args], input=data or b"", capture_output=True,
                              env=env, start_new_session=True, timeout=_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise SigningError(f"ssh-keygen {args[0]} {args[1]} did not finish within "
                           f"{_TIMEOUT} s") from None


def _said(process: subprocess.CompletedProcess) -> str:
    """ssh-keygen's last line of complaint on stderr (else stdout), or its exit status."""
    for stream in (process.stderr, process.stdout):
        lines = [line.removeprefix("Enter passphrase:").strip()
                 for line in stream.decode(errors="replace").splitlines()
                 if line.strip() and line != "Signing data on standard input"]
        if lines:
            return lines[-1]
    return f"exit status {process.returncode}"


@dataclass(frozen=True)
class ManifestSigner:
    """Signs manifests with one SSH key: a private key file, or a public key whose private key
    ssh-agent holds. `fingerprint` is the key's, as `ssh-keygen -l` shows it."""

    key: Path
    fingerprint: str

    def sign(self, data: bytes) -> bytes:
        """The armored signature of `data` in the devkit-bundle namespace."""
        process = _run(["-Y", "sign", "-f", str(self.key), "-n", NAMESPACE], data)
        if process.returncode != 0 or not process.stdout.startswith(b"-----BEGIN SSH SIGNATURE"):
            said = _said(process)
            if "passphrase" in said:
                raise SigningError(f"{self.key} is protected by a passphrase, which devkit "
                                   f"does not ask for: add it to ssh-agent (`ssh-add "
                                   f"{self.key}`) and run the command again")
            raise SigningError(f"cannot sign with {self.key}: {said}")
        return process.stdout


def open_signer(key: Path) -> ManifestSigner:
    """A signer for `key`, checked to sign before anything is written.

    `ssh-keygen -l` reads a public key alone, so the signer also signs a throwaway input once:
    a .pub whose private key is neither beside it nor in ssh-agent, or a key with a passphrase
    outside the agent, fails here rather than after a bundle has been written.
    """
    key = Path(key)
    if not key.is_file():
        what = "is not a file" if key.exists() else "does not exist"
        raise SigningError(f"signing key {key} {what} (give the private key, e.g. "
                           f"~/.ssh/id_ed25519, or its .pub when ssh-agent holds the key)")
    process = _run(["-l", "-f", str(key)])
    if process.returncode != 0:
        raise SigningError(f"{key} is not an SSH key: {_said(process)}")
    fields = process.stdout.decode(errors="replace").split()
    signer = ManifestSigner(key, fields[1] if len(fields) > 1 else "")
    signer.sign(_KEY_CHECK)
    return signer


class AllowedSigners:
    """Checks manifests' signatures against an allowed-signers file.

    Each line of the file is `PRINCIPALS [OPTIONS] KEYTYPE BASE64-KEY`, for instance
    `alice@example.org namespaces="devkit-bundle" ssh-ed25519 AAAAC3Nz…`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SignatureError(self.path, "allowed-signers file does not exist (one line "
                                            "per key: `alice@example.org ssh-ed25519 AAAA…`)")
        try:
            self.path.read_bytes()
        except OSError as error:
            raise SignatureError(self.path, f"cannot read: {error.strerror}") from None
        _ssh_keygen()

    def check(self, manifest: Path, manifest_sha256: str) -> str:
        """The principal whose valid signature `manifest` has; SignatureError otherwise.

        `manifest_sha256` is the hash of the manifest as it was read and used: the signature
        is checked over exactly those bytes.
        """
        signature = manifest.with_name(signature_name(manifest.name))
        if not signature.is_file():
            raise SignatureError(manifest, f"not signed (no {signature.name} beside it)")
        try:
            data = manifest.read_bytes()
        except OSError as error:
            raise SignatureError(manifest, f"cannot read: {error.strerror}") from None
        if hashlib.sha256(data).hexdigest() != manifest_sha256:
            raise SignatureError(manifest, "changed while it was being checked; run again")
        found = _run(["-Y", "find-principals", "-s", str(signature), "-f", str(self.path)])
        principals = [line.strip() for line in found.stdout.decode(errors="replace").splitlines()
                      if line.strip()]  # of the first line with the key, one per line
        if found.returncode != 0 or not principals:
            unreadable = [line for line in found.stderr.decode(errors="replace").splitlines()
                          if "parse signature" in line or "sshsig" in line]
            if unreadable or "No principal matched" not in _said(found):
                raise SignatureError(manifest, f"{signature.name} is not a readable signature "
                                               f"({(unreadable or [_said(found)])[0]})")
            raise SignatureError(manifest, f"signed by a key not in {self.path}"
                                           f"{self._signer_key(signature, data)}")
        failure = ""
        for principal in principals:
            verified = _run(["-Y", "verify", "-f", str(self.path), "-I", principal,
                             "-n", NAMESPACE, "-s", str(signature)], data)
            if verified.returncode == 0:
                return principal
            failure = _said(verified)
        if "namespace does not match" in failure:
            raise SignatureError(manifest, f"{signature.name} was made for another purpose "
                                           f"than {NAMESPACE} (its namespace differs)")
        if "not permitted" in failure:  # a namespaces="…" option that leaves devkit-bundle out
            raise SignatureError(manifest, f"{self.path} does not allow the key of "
                                           f"{principals[0]} for {NAMESPACE} ({failure})")
        raise SignatureError(manifest, f"does not match {signature.name}: the manifest was "
                                       f"altered after signing ({failure})")

    @staticmethod
    def _signer_key(signature: Path, data: bytes) -> str:
        """' (ED25519 key SHA256:…)': the key that made `signature`, when ssh-keygen says."""
        process = _run(["-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(signature)], data)
        text = process.stdout.decode(errors="replace")
        if process.returncode != 0 or " with " not in text:
            return ""
        return f" ({text.split(' with ', 1)[1].strip()})"
