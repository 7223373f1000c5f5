"""Output folders: written whole into a temp sibling, renamed into place, never clobbering others' files.

Every folder dq writes holds a marker file, :data:`MARKER`. ``--overwrite`` replaces a folder
only when it is empty or holds that marker, and never one that holds a file the command reads.
A run's temp folder is named after the output and this process (``.NAME.tmp-PID-XXXX``): it is
removed on SIGINT/SIGTERM, and a later run removes the ones whose process is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import FrameType

from dq.errors import DqError

MARKER = ".dq-output"


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def owned_files(out: Path) -> set[str] | None:
    """The files dq wrote into ``out`` (listed in its marker), or None when it has no marker."""
    try:
        listed = json.loads((out / MARKER).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError):
        return None
    return set(listed) if isinstance(listed, list) else set()


def foreign_files(out: Path) -> list[str]:
    """Files in a dq output folder that dq did not write there (a reviewer's edits, notes...)."""
    owned = owned_files(out) or set()
    return sorted(_files(out) - owned - {MARKER})


def check_target(out: Path, overwrite: bool, reads: Iterable[Path] = (), carry_foreign: bool = False) -> None:
    """Refuse an output folder dq may not write: one line naming the folder and why.

    ``--overwrite`` replaces a folder only when every file in it is one dq wrote (its marker lists
    them); ``carry_foreign`` (``dq report``) keeps other files instead of refusing.
    """
    out = out.resolve()
    if out == Path.cwd().resolve() or out == Path(out.anchor):
        raise DqError(f"{out}: refusing to use the current folder or a root as the output folder")
    for path in reads:
        resolved = Path(path).resolve()
        if resolved == out or out in resolved.parents:
            raise DqError(f"{out}: the output folder holds an input ({path}); choose another --out")
    if out.exists() and not out.is_dir():
        raise DqError(f"{out}: exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise DqError(f"{out}: output folder exists and is not empty; pass --overwrite")
    if not (out / MARKER).is_file():
        raise DqError(
            f"{out}: not a folder dq wrote (no {MARKER}); --overwrite replaces only dq's own "
            "output folders: choose another --out or empty it yourself"
        )
    foreign = foreign_files(out)
    if foreign and not carry_foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise DqError(
            f"{out}: holds files dq did not write ({shown}); --overwrite would delete them: "
            "move them out or choose another --out"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clear_stale(out: Path) -> list[Path]:
    """Remove temp folders of ``out`` left by killed dq processes; returns what was removed."""
    removed = []
    for path in out.parent.glob(f".{out.name}.tmp-*") if out.parent.is_dir() else []:
        pid = path.name.removeprefix(f".{out.name}.tmp-").split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def staged(
    out: Path, overwrite: bool, kind: str, reads: Iterable[Path] = (), carry_foreign: bool = False
) -> Iterator[Path]:
    """A temp folder to write ``out`` into; renamed into place when the block ends without error.

    The marker written last lists every file dq put there; with ``carry_foreign`` the files of
    ``out`` that dq did not write (copied into the temp folder by the caller) stay unlisted.

    The temp folder goes on any error, on SIGINT and on SIGTERM (which then raise
    KeyboardInterrupt / SystemExit as usual, so the caller's exit code stands).
    """
    check_target(out, overwrite, reads, carry_foreign)
    foreign = set(foreign_files(out)) if carry_foreign and out.is_dir() else set()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        clear_stale(out)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        work.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the output is an ordinary folder
    except OSError as exc:
        raise DqError(f"{out}: cannot write the output folder: {exc.strerror or exc}") from None
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    in_main = _in_main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, on_term)
    try:
        yield work
        # Only the final steps are "cannot write": an OSError from a stage is a bug (exit 3).
        try:
            files = sorted(_files(work) - foreign - {MARKER})
            marker = {"written_by": "dq", "kind": kind, "files": files}
            (work / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
            _replace(work, out)
        except OSError as exc:
            raise DqError(f"{out}: cannot write the output folder: {exc.strerror or exc}") from None
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def write_folder(out: Path, files: dict[str, bytes], overwrite: bool = False, kind: str = "files") -> None:
    """Write small outputs (``relative path -> bytes``) as one folder, atomically."""
    with staged(out, overwrite, kind) as work:
        for rel, data in files.items():
            path = work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def _replace(new: Path, target: Path) -> None:
    """Move the finished folder into place; an old output folder goes only after that."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{new.name}")
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
