"""``keras.utils.get_file``: Keras' arguments on the package's downloader.

The download itself (resume after a cut, retries, atomic rename, SHA-256 check,
a lock per file) is ``datasets.download.get_file``; this adds what Keras' name
promises: the file name taken from the URL, md5 hashes, ``force_download`` and
archive extraction. Downloads are bounded in size, time and rate as the
downloader documents (``MLXF_DOWNLOAD_MAX_BYTES`` for a file whose size is not
known, ``MLXF_DOWNLOAD_DEADLINE``, ``MLXF_DOWNLOAD_MIN_RATE``). Archives are
extracted member by member, refusing any member that would land outside the
extraction folder (absolute paths, ``..``, links), a classic tar/zip attack.
"""

import hashlib
import os
import shutil
import tarfile
import urllib.parse
import zipfile
from pathlib import Path


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Downloads ``origin`` into the cache unless a verified copy is there; returns its path.

    Args:
        fname: the file's name in the cache; default the last part of the URL's path.
        origin: the URL.
        untar: old spelling of ``extract=True, archive_format="tar"``.
        md5_hash: old spelling of ``file_hash`` with an md5 digest.
        file_hash: expected hex digest (sha256 or md5) of the file.
        cache_subdir: folder under ``cache_dir`` (an absolute path is used as is).
        hash_algorithm: ``"sha256"``, ``"md5"`` or ``"auto"`` (sha256 for a
            64-character digest, else md5).
        extract: extract the archive; the returned path is then the folder
            ``<fname without extension>_extracted`` (or ``fname`` when it has no
            extension), as in Keras.
        archive_format: ``"auto"`` (tar or zip), ``"tar"``, ``"zip"`` or None.
        cache_dir: the cache's base folder; default ``$MLXF_HOME`` (``~/.mlxfunctional``)
            where Keras uses ``~/.keras``.
        force_download: download again even when the file is cached.

    Returns:
        The path (a ``str``) of the file, or of the extraction folder.

    Raises:
        ValueError: no ``origin``, a ``fname`` holding a folder, or a digest mismatch
            (``datasets.download.ChecksumError``; the download is deleted).
        datasets.download.DownloadError: the server could not be reached or refused, or
            the file went past its size bound or its deadline (nothing is kept).
    """
    # Imported here: keras.datasets loads on first use, not with keras.utils.
    from ..datasets import download

    if origin is None:
        raise ValueError('get_file needs the "origin" argument (the URL of the file).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _algorithm(hash_algorithm, file_hash)
    if fname is None:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Cannot take a file name from origin {origin!r}; pass `fname`.")
    fname = os.fspath(fname)
    if os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError("`fname` must be a file name, not a path; choose the folder with "
                         f"`cache_dir`/`cache_subdir`. Received: fname={fname!r}")
    base = Path(cache_dir).expanduser() if cache_dir is not None else download.mlxf_home()
    folder = base / cache_subdir
    extract = extract or untar
    if untar:
        archive_format = "tar"
    target, extraction_dir = folder / fname, None
    if extract:  # Keras' names: "data.tar.gz" -> data_extracted/, "data" -> data_archive
        if "." in fname:
            extraction_dir = folder / (fname[:fname.find(".")] + "_extracted")
        else:
            extraction_dir, target = folder / fname, folder / (fname + "_archive")
    if force_download and target.exists():
        target.unlink()
    if target.exists() and file_hash is not None and _digest(target, algorithm) != file_hash:
        print(f"A local file was found, but its {algorithm} hash does not match {file_hash}: "
              "downloading it again.")
        target.unlink()
    # The downloader checks a sha256 itself before the file takes its final name.
    sha256 = file_hash if algorithm == "sha256" else None
    path = download.get_file(target.name, origin=origin, file_hash=sha256, cache_dir=base,
                             cache_subdir=cache_subdir)
    if algorithm == "md5" and file_hash is not None:
        got = _digest(path, "md5")
        if got != file_hash:
            Path(path).unlink()
            raise download.ChecksumError(
                f"Checksum mismatch for {target.name} downloaded from {origin}: expected md5 "
                f"{file_hash}, got {got}. The download has been deleted.")
    if extract:
        if not extract_archive(path, extraction_dir, archive_format):
            raise ValueError(f"{path} is not a {archive_format} archive this can extract "
                             "(tar, tar.gz, tar.bz2 or zip).")
        return str(extraction_dir)
    return str(path)


def _algorithm(hash_algorithm, file_hash):
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError("`hash_algorithm` must be 'auto', 'sha256' or 'md5'. "
                         f"Received: {hash_algorithm!r}")
    if hash_algorithm == "auto":
        return "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"
    return hash_algorithm


def _digest(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extracts a tar or zip archive into ``path``; False when it is neither.

    A member whose name is absolute, climbs out with ``..``, or is a link or a
    device is refused (ValueError) and nothing is left half-extracted.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"`archive_format` must be 'auto', 'tar', 'zip' or None. "
                             f"Received: {archive_format!r}")
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                _extract_members(archive, archive.getmembers(), path)
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                _extract_members(archive, archive.infolist(), path)
            return True
    return False


def _extract_members(archive, members, path):
    root = os.path.realpath(path)
    for member in members:
        name = getattr(member, "name", None) or member.filename
        target = os.path.realpath(os.path.join(root, name))
        unsafe = isinstance(member, tarfile.TarInfo) and not (member.isfile() or member.isdir())
        if unsafe or os.path.isabs(name) or os.path.commonpath([root, target]) != root:
            raise ValueError(f"Refusing to extract archive member {name!r}: it is a link or "
                             "a special file, or would be written outside the extraction "
                             f"folder {path!r}.")
    try:
        os.makedirs(root, exist_ok=True)
        # Python's own "data" filter (3.11.4+) checks tar members once more.
        extra = {"filter": "data"} if isinstance(archive, tarfile.TarFile) and hasattr(
            tarfile, "data_filter") else {}
        for member in members:
            archive.extract(member, root, **extra)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
