"""Upload a published folder to the Hugging Face Hub as a dataset repository.

The token is whatever ``huggingface_hub`` finds (``HF_TOKEN`` or the ``hf auth login`` store): dq
only asks whether one exists and never holds, prints or writes it; every error message that leaves
this module has it masked anyway, in case a library put it there.
"""

from __future__ import annotations

import os
from pathlib import Path

from dq.errors import DqError

_TRUE = {"1", "on", "yes", "true"}


def offline() -> bool:
    """Whether the Hub is switched off (``HF_HUB_OFFLINE``), read now rather than at import."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _masked(text: str) -> str:
    """``text`` with any token the process can see replaced by ``***``."""
    from huggingface_hub import get_token

    for secret in {
        get_token() or "",
        os.environ.get("HF_TOKEN", ""),
        os.environ.get("HUGGING_FACE_HUB_TOKEN", ""),
    }:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def check_ready(repo: str) -> None:
    """Refuse, before anything is built, a push that cannot start: no token."""
    from huggingface_hub import get_token

    if not get_token():
        raise DqError(
            f"cannot push to {repo}: no Hugging Face token (set HF_TOKEN or run 'hf auth login'), "
            "or pass --dry-run to build the folder only"
        )


def push(folder: Path, repo: str, private: bool, message: str) -> str:
    """Create the dataset repo if needed and upload ``folder`` as one commit; returns its URL.

    Offline, and on any network or Hub error, one line (exit 2) says the push did not happen and
    where the finished folder is.
    """
    from dq.data.outdir import MARKER

    where = f"the folder is ready at {folder}"
    if offline():
        raise DqError(
            f"not pushed to {repo}: HF_HUB_OFFLINE is set; {where} (unset it to push, or use --dry-run)"
        )
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo,
            folder_path=folder,
            repo_type="dataset",
            ignore_patterns=[MARKER],
            commit_message=message,
        )
    except Exception as exc:  # noqa: BLE001 - httpx, Hub HTTP and OS errors all mean "not pushed"
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise DqError(f"not pushed to {repo}: {type(exc).__name__}: {_masked(reason)}; {where}") from None
    return str(getattr(commit, "commit_url", "") or f"https://huggingface.co/datasets/{repo}")
