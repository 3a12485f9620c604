"""SHA-256 manifests: reading them, verifying files against them, and verified downloads.

Both releases (:mod:`readalike.release.study_a` for arXiv 2310.19084,
:mod:`readalike.release.study_b`
for arXiv 2310.00492) trust no file before its hash matches a ``sha256sum`` manifest.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from readalike.core.outputs import atomic_path

logger = logging.getLogger(__name__)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ChecksumMismatch(ValueError):
    """A release file whose bytes are not those its manifest pins (or no manifest lists it)."""


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
        raise ChecksumMismatch(
            f"release check failed in {release_dir} ({len(problems)} of {len(relpaths)} "
            f"files): {shown}"
        )
    logger.info("verified %d release files in %s", len(relpaths), release_dir)


def read_verified(
    release_dir: str | os.PathLike, relpath: str, hashes: Mapping[str, str] | None
) -> bytes:
    """The bytes of a release file, hashed as they are read and refused unless they match.

    An earlier check of the same path proves nothing about the bytes read now: a file
    replaced since (its mtime kept, so that nothing reruns the check) would be converted
    as if it were the verified one. So a job hashes exactly the bytes it goes on to parse.

    Parameters
    ----------
    hashes
        Release path -> SHA-256 the file must have; None reads without checking (tests
        and callers that verified a private copy).

    Raises
    ------
    ChecksumMismatch
        One line naming the file and both hashes, or saying that no manifest lists it.
    """
    path = Path(release_dir) / relpath
    data = path.read_bytes()
    if hashes is None:
        return data
    expected = hashes.get(relpath)
    if expected is None:
        raise ChecksumMismatch(f"{path}: not listed in the manifest, cannot be verified")
    found = hashlib.sha256(data).hexdigest()
    if found != expected:
        raise ChecksumMismatch(
            f"{path}: SHA-256 {found} differs from the manifest's {expected} (hashed as this "
            "job read it); the file is corrupted or altered"
        )
    return data


def check_against_pinned(
    manifest: Mapping[str, str],
    pinned: Mapping[str, str],
    relpaths: Iterable[str],
    modified: bool,
    manifest_path: str | os.PathLike = "release_manifest",
    pinned_path: str | os.PathLike = "the pinned manifest",
) -> dict[str, str]:
    """The hashes to check a run's files against: the configured manifest, where it may say.

    For a known release the pinned manifest (shipped with the project) is the authority; a
    configured manifest that gives another hash for a file the run reads, or lists a file
    the pinned one does not, describes a modified copy. That is refused unless the
    configuration says so (``release_modified: true``), and then every table says
    ``modified`` instead of ``real``.

    Returns
    -------
    dict
        Release path -> SHA-256 from ``manifest``, for every path of ``relpaths`` it lists
        (a path it does not list is refused later, by the check of that file).

    Raises
    ------
    ValueError
        One line naming both manifests, the count and the first differing file.
    """
    relpaths = list(relpaths)
    differ = [rel for rel in relpaths if rel in manifest and manifest[rel] != pinned.get(rel)]
    if differ and not modified:
        rel = differ[0]
        pinned_hash = pinned.get(rel)
        says = f"{pinned_hash[:12]}..." if pinned_hash else "no such file"
        raise ValueError(
            f"{manifest_path}: {len(differ)} of {len(relpaths)} files differ from the pinned "
            f"manifest {pinned_path}, first {rel} ({manifest[rel][:12]}..., pinned: {says}); "
            "a modified copy of the release runs only with release_modified: true (its "
            "tables then say provenance 'modified')"
        )
    return {rel: manifest[rel] for rel in relpaths if rel in manifest}


def remove_outputs(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Remove files and folders that exist among ``paths``; returns those removed."""
    removed = []
    for path in map(Path, paths):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(str(path))
    return removed


@contextlib.contextmanager
def remove_on_mismatch(derived: Iterable[str | os.PathLike]) -> Iterator[None]:
    """Remove the outputs ``derived`` from the release if a file fails its check here.

    Tables made from a file that no longer verifies would otherwise stay in the results
    folder, looking as good as ever; Snakemake removes only the failing job's own outputs.
    The error is raised again unchanged (its one line on the console).
    """
    try:
        yield
    except ChecksumMismatch:
        for path in remove_outputs(derived):
            logger.error("removed %s: it rests on a release file that no longer verifies", path)
        raise


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


#: file names that are archives (never a folder to download into)
ARCHIVE_SUFFIXES = (".tar", ".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".zip")


def is_archive(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an archive: an existing file, or named like one."""
    path = Path(path)
    return path.is_file() or path.name.lower().endswith(ARCHIVE_SUFFIXES)
