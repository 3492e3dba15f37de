"""Pretrained weights from the Hugging Face Hub, converted once and cached.

``huggingface_hub.hf_hub_download`` fetches (and caches, in the Hub's own
cache: ``HF_HOME``/``HF_HUB_CACHE``) the source file; it honours
``HF_HUB_OFFLINE=1``, tokens, mirrors (``HF_ENDPOINT``) and resumes. The
converted weights are kept as an mlxfunctional model file under
``$MLXF_HOME/models/`` (default ``~/.mlxfunctional``), keyed by repo and
revision, so later loads read our own format and skip both the Hub and the
conversion -- even offline, and even when the Hub's cache was cleared.
"""

import os
import re

from ..datasets.download import mlxf_home

_REVISION = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _revision_dir(revision):
    # Revisions are branch/tag names or commit ids; "refs/pr/1" becomes "refs--pr--1".
    if revision is not None and not isinstance(revision, str):
        raise TypeError(f"revision must be a str (branch, tag or commit) or None; "
                        f"received {type(revision).__name__}.")
    name = (revision or "main").replace("/", "--")
    if not _REVISION.fullmatch(name) or name in (".", ".."):
        raise ValueError(f"revision {revision!r} is not a branch, tag or commit name.")
    return name


def converted_path(repo_id, revision, filename):
    """Where the converted weights of ``repo_id`` at ``revision`` are cached."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:  # the Hub's own rules: no "..", no "--" (so "owner--name" below is unambiguous)
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise ValueError(f"repo_id must look like 'owner/name'; received {repo_id!r} ({e})"
                         ) from None
    return os.path.join(mlxf_home(), "models", repo_id.replace("/", "--"),
                        _revision_dir(revision), filename)


def download(repo_id, filename, revision=None):
    """The local path of ``filename`` from the Hub repo (downloaded once, then cached).

    Raises ``OSError`` naming the repo, the file and how to pre-download it
    when the file is neither reachable nor cached (offline, ``HF_HUB_OFFLINE=1``,
    a wrong name, a gated repo without a token).
    """
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ImportError("Downloading pretrained weights needs huggingface_hub: "
                          "pip install huggingface_hub") from None
    try:
        return hf_hub_download(repo_id, filename, revision=revision)
    except Exception as e:  # offline, not found, gated, HTTP: one actionable message
        rev = f" --revision {revision}" if revision else ""
        raise OSError(
            f"Cannot get {filename!r} from the Hugging Face Hub repo {repo_id!r}"
            f"{f' at revision {revision!r}' if revision else ''} ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else 'no detail'}). It is not in the local "
            "Hub cache and could not be downloaded (no network, HF_HUB_OFFLINE=1, or a "
            "wrong repo/revision). Pre-download it on a machine with network:\n"
            f"    hf download {repo_id} {filename}{rev}\n"
            f"(or python -c \"import huggingface_hub as h; h.hf_hub_download('{repo_id}', "
            f"'{filename}'{f', revision={revision!r}' if revision else ''})\") and copy the Hub "
            "cache (~/.cache/huggingface/hub, or $HF_HUB_CACHE) here; or download the file "
            "anywhere and pass its path as weights=PATH."
        ) from e
