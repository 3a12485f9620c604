"""SHA-256 manifests: reading them, verifying files against them, and verified downloads.

Both releases (:mod:`readalike.release.study_a` for arXiv 2310.19084,
:mod:`readalike.release.study_b`
for arXiv 2310.00492) trust no file before its hash matches a ``sha256sum`` manifest.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

from readalike.core.outputs import atomic_path

logger = logging.getLogger(__name__)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def read_manifest(path: str | os.PathLike) -> dict[str, str]:
    """Read a ``sha256sum`` file into ``{relative path: lower-case hex SHA-256}``.

    Accepts both the text (``HASH  path``) and binary (``HASH *path``) markers.

    Raises
    ------
    ValueError
        On a malformed line, a path leaving the release (absolute or with ``..``) or a path
        listed twice with different hashes; the message names the file and line.
    """
    path = Path(path)
    manifest: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, rest = line.partition(" ")
        digest = digest.lower()
        if not sep or not _HEX64.match(digest) or rest[:1] not in (" ", "*") or not rest[1:]:
            raise ValueError(f"{path}: line {number} is not 'SHA256  path': {line!r}")
        rel = rest[1:]
        rel = rel[2:] if rel.startswith("./") else rel
        # paths become download targets: none may leave the destination folder
        if rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError(f"{path}: line {number}: {rel!r} is not a path inside the release")
        if manifest.get(rel, digest) != digest:
            raise ValueError(f"{path}: line {number}: {rel} is listed twice with different hashes")
        manifest[rel] = digest
    return manifest


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so large files never sit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(
    release_dir: str | os.PathLike, manifest: Mapping[str, str], relpaths: Iterable[str]
) -> None:
    """Check that every needed file exists under ``release_dir`` with its manifest hash.

    All files are checked before raising: the log lists every problem, the error's one line
    the count and the first three.

    Raises
    ------
    ValueError
        Naming each file that is missing, not in the manifest, or whose SHA-256 differs
        (with the expected and found hashes).
    """
    release_dir = Path(release_dir)
    problems = []
    relpaths = list(relpaths)
    for rel in relpaths:
        path = release_dir / rel
        expected = manifest.get(rel)
        if expected is None:
            problems.append(f"{rel}: not listed in the manifest, cannot be verified")
        elif not path.is_file():
            problems.append(f"{path}: missing")
        else:
            found = sha256_file(path)
            if found != expected:
                problems.append(
                    f"{path}: SHA-256 {found} differs from the manifest's {expected}; "
                    "the file is corrupted or altered"
                )
    if problems:
        for problem in problems:  # every problem in the job's log; the first few on one line
            logger.error("%s", problem)
        shown = "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "")
        raise ValueError(
            f"release check failed in {release_dir} ({len(problems)} of {len(relpaths)} "
            f"files): {shown}"
        )
    logger.info("verified %d release files in %s", len(relpaths), release_dir)


def download_files(
    relpaths: Iterable[str],
    dest_dir: str | os.PathLike,
    manifest: Mapping[str, str],
    commit: str,
    base_url: str,
    timeout: float = 60.0,
) -> None:
    """Fetch release files into ``dest_dir`` (same relative layout), verified on arrival.

    Each file is streamed to a temporary file beside its target and moved into place only
    once its SHA-256 matches the manifest, so ``dest_dir`` never holds an unverified or
    half-written file. Files already present with the right hash are skipped; present with
    a wrong hash, they are fetched again.

    Parameters
    ----------
    relpaths
        Paths relative to the repository root, as in the manifest.
    base_url
        ``str.format`` template with ``{commit}`` and ``{path}`` fields (``{path}`` is
        URL-quoted); e.g. ``"file:///mirror/{path}"`` for a local mirror.

    Raises
    ------
    ValueError
        A path is not in the manifest, or the fetched bytes do not match it.
    OSError
        The fetch failed; the message names the file and the URL.
    """
    dest_dir = Path(dest_dir)
    for rel in relpaths:
        expected = manifest.get(rel)
        if expected is None:
            raise ValueError(
                f"{rel}: not listed in the manifest; refusing an unverifiable download"
            )
        target = dest_dir / rel
        if target.is_file():
            if sha256_file(target) == expected:
                logger.debug("%s: present and verified, skipped", target)
                continue
            logger.warning("%s: present with a wrong SHA-256, fetching it again", target)
        url = base_url.format(commit=commit, path=urllib.parse.quote(rel, safe="/"))
        logger.info("fetching %s", url)
        with atomic_path(target) as tmp:
            digest = hashlib.sha256()
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as f:
                    while chunk := response.read(1 << 20):
                        digest.update(chunk)
                        f.write(chunk)
            except (urllib.error.URLError, OSError) as err:
                raise OSError(f"{rel}: download from {url} failed ({err})") from err
            found = digest.hexdigest()
            if found != expected:
                raise ValueError(
                    f"{rel}: downloaded from {url} with SHA-256 {found}, the manifest says "
                    f"{expected}; the file is corrupted or altered, not kept"
                )
