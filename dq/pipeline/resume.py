"""Resume a killed or failed ``dq run`` from its completed stages.

After each stage but the last, what the stage contributed (the run-state attributes it set, the
files it wrote into the work folder, its timing) is checkpointed, atomically, under
``${DQ_CACHE_DIR:-~/.cache/dq}/runs/<run key>/<NN>-<stage>-<stage key>/``, never in the output
folder. Keys are content hashes chained from stage to stage (:mod:`dq.pipeline.run_keys`); the
checkpoint format is :mod:`dq.pipeline.checkpoint`.

A run of the same command loads the longest prefix of valid checkpoints, skips those stages and
runs the rest; it says which on stderr and in the manifest (``resumed``). A missing, partial or
corrupt checkpoint ends the prefix (that stage runs again). When the outputs are in place, the run's
checkpoints are removed, unless kept (``--keep-checkpoints``: a rerun then reuses every stage but
the last). The last stage is never checkpointed: it finishes the outputs, so a rerun always writes
a fresh manifest. Only what dq wrote is ever removed (folders holding a ``.dq-checkpoints`` marker,
and in them only checkpoint and temp folders named as dq names them).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dq.api.run import Plan, RunState, Stage
from dq.pipeline import checkpoint
from dq.pipeline.checkpoint import CheckpointError, Contents, fingerprint
from dq.pipeline.plan import RunOptions
from dq.pipeline.rowstore import RowStore
from dq.pipeline.run_keys import cache_root, components, identity, run_key, stage_keys
from dq.pipeline.shared_strings import StringPool

MARKER = ".dq-checkpoints"
#: RunState attributes that are not a stage's contribution (set by the command, or by resume).
NOT_STATE = frozenset(
    {"plan", "out_dir", "quiet", "overwrite", "work_dir", "spill_dir", "timings", "resumed"}
)
#: Checkpoints of another command's run untouched for this long are removed by any ``dq run``.
STALE_DAYS = 14
_CHECKPOINT = re.compile(r"^\d{2,}-.+-[0-9a-f]{16}$")
#: A streamed run's row store, written by the stage whose checkpoint it is named after.
ROWS_SUFFIX = ".rows"
_TEMP = re.compile(r"^\.tmp-(\d+)-[0-9a-f]+$")


def _silent(message: str) -> None:
    return None


@dataclass
class ResumePolicy:
    """What the command line asks of checkpoints."""

    resume: bool = True  # False (--no-resume): every stage runs; this run's checkpoints are replaced
    keep: bool = False  # --keep-checkpoints: keep them when the run finishes
    say: Callable[[str], None] = _silent  # one line to the user (stderr)


@dataclass
class Snapshot:
    """A state's attributes (as fingerprints) and its work folder's files, before a stage runs."""

    values: dict[str, bytes | None]
    files: dict[str, tuple[int, int, int]]
    folders: set[str]
    kept: list[Any] = field(default_factory=list)


def _listing(work: Path) -> tuple[dict[str, tuple[int, int, int]], set[str]]:
    files, folders = {}, set()
    for path in work.rglob("*"):
        rel = path.relative_to(work).as_posix()
        if path.is_dir():
            folders.add(rel)
        else:
            st = path.stat()
            files[rel] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return files, folders


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _ours(folder: Path) -> bool:
    """A checkpoint folder dq made: its marker, and owned by this user where there are users."""
    try:
        return (folder / MARKER).is_file() and (
            not hasattr(os, "getuid") or folder.stat().st_uid == os.getuid()
        )
    except OSError:
        return False


def _clear(folder: Path, keep: Iterable[str] = ()) -> None:
    """Remove dq's checkpoints in ``folder`` (not ``keep``) and temp folders of dead processes."""
    keep = set(keep)
    for child in folder.iterdir() if folder.is_dir() else []:
        temp = _TEMP.match(child.name)
        dead_temp = temp is not None and not _pid_alive(int(temp.group(1)))
        name = child.name.removesuffix(ROWS_SUFFIX)  # a row store goes with its checkpoint
        if name not in keep and (_CHECKPOINT.match(name) or dead_temp):
            shutil.rmtree(child, ignore_errors=True)


def _remove_run(folder: Path) -> None:
    """Remove a run's checkpoint folder: dq's entries, then the marker and folder when nothing else is left."""
    _clear(folder)
    if {p.name for p in folder.iterdir()} <= {MARKER}:
        (folder / MARKER).unlink(missing_ok=True)
        folder.rmdir()


def prune_stale(root: Path, current: Path, days: float = STALE_DAYS) -> None:
    """Remove other runs' checkpoints untouched for ``days`` (a run killed and never rerun)."""
    cutoff = time.time() - days * 86400
    for folder in root.iterdir() if root.is_dir() else []:
        try:
            if folder != current and _ours(folder) and folder.stat().st_mtime < cutoff:
                _remove_run(folder)
        except OSError:
            continue


class Checkpoints:
    """The checkpoints of one run: restore the valid prefix, save each finished stage, clean up."""

    def __init__(self, folder: Path, plan: Plan, key: str, policy: ResumePolicy) -> None:
        self.folder, self.policy, self.stages = folder, policy, plan.stages
        self.keys = stage_keys(key, plan.stages)
        self.names = [
            f"{i:02d}-{re.sub(r'[^A-Za-z0-9._]', '_', s.name)}-{k[:16]}"
            for i, (s, k) in enumerate(zip(self.stages, self.keys, strict=True))
        ]
        self.allowed = {cls.__module__.split(".", 1)[0] for cls in components(plan)}
        self.enabled = True

    @classmethod
    def open(cls, state: RunState, options: RunOptions, policy: ResumePolicy) -> Checkpoints | None:
        """The run's checkpoints, or None (said why) when this run cannot have any."""
        root = cache_root().expanduser().resolve()
        out = state.out_dir.resolve()
        if root == out or out in root.parents:
            policy.say(f"resume: off: the checkpoint folder {root} is inside the output folder")
            return None
        # Only regular files are hashed (never drain a pipe the run reads); a missing or odd input
        # is the run's own error to report, in its own words.
        if not all(path.is_file() for path in state.plan.files_read):
            return None
        try:
            key = run_key(state.plan, options)
        except OSError:
            return None
        with contextlib.suppress(OSError):
            prune_stale(root, root / key[:32])
        return cls(root / key[:32], state.plan, key, policy)

    def restore(self, state: RunState) -> int:
        """Load the longest prefix of valid checkpoints into ``state``; how many stages it covers."""
        if self.folder.exists() and not _ours(self.folder):
            self.policy.say(f"resume: off: {self.folder} was not written by dq for this user; left as is")
            self.enabled = False
            return 0
        reused: list[int] = []
        pool = StringPool()  # the restored frames share their repeated strings, as the run's did
        for i, stage in enumerate(self.stages[:-1] if self.policy.resume else ()):
            path = self.folder / self.names[i]
            if not path.is_dir():
                break
            try:
                contents = checkpoint.read(path, self.keys[i], self.allowed, pool)
                for value in contents.values.values():
                    if isinstance(value, RowStore):  # its parts sit beside the checkpoint
                        value.verify()
                self._apply(state, stage, contents)
            except (CheckpointError, OSError) as exc:
                self.policy.say(
                    f"resume: the checkpoint of {stage.name} cannot be used ({exc}); running it again"
                )
                break
            reused.append(i)
        with contextlib.suppress(OSError):
            _clear(self.folder, keep=[self.names[i] for i in reused])  # stale, invalid, or replaced
        if reused:
            state.resumed = {self.stages[i].name: self.keys[i] for i in reused}
            self.policy.say(
                f"resume: reusing {', '.join(state.resumed)} from {self.folder} (--no-resume runs every stage)"
            )
        return len(reused)

    def _apply(self, state: RunState, stage: Stage, contents: Contents) -> None:
        work = state.require("work_dir")
        for rel in contents.folders:
            (work / rel).mkdir(parents=True, exist_ok=True)
        for rel in contents.removed:
            (work / rel).unlink(missing_ok=True)
        for rel, source in contents.files.items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).unlink(missing_ok=True)  # a link must not write through an older file
            checkpoint.link_or_copy(source, work / rel)
        for name, value in contents.values.items():
            setattr(state, name, value)
        if isinstance(contents.meta.get("seconds"), (int, float)):
            state.timings[stage.name] = contents.meta["seconds"]

    def rows_folder(self, index: int, state: RunState) -> Path | None:
        """Where stage ``index`` keeps a row store, if it streams: kept with its checkpoint."""
        if not self.enabled or index >= len(self.stages) - 1:
            return None
        # Marked now: a run killed while writing its row store leaves a folder dq knows as its own
        # (its rerun removes the partial store), never one it would refuse to touch.
        self._make_folder(state)
        return self.folder / (self.names[index] + ROWS_SUFFIX)

    def tidy(self) -> None:
        """Remove this run's folder if it holds nothing but its marker (a stage failed before any
        checkpoint, and removed its row store)."""
        with contextlib.suppress(OSError):
            if {p.name for p in self.folder.iterdir()} <= {MARKER}:
                (self.folder / MARKER).unlink(missing_ok=True)
                self.folder.rmdir()

    def holds(self, folder: Path) -> bool:
        """Whether ``folder`` (a row store) belongs to a checkpoint of this run that was saved."""
        checkpoint_name = folder.name.removesuffix(ROWS_SUFFIX)
        return folder.parent == self.folder and (self.folder / checkpoint_name).is_dir()

    def snapshot(self, state: RunState) -> Snapshot:
        values, kept = {}, []
        for name, value in vars(state).items():
            if name not in NOT_STATE:
                values[name], objects = fingerprint(value)
                kept += objects
        files, folders = _listing(state.require("work_dir"))
        return Snapshot(values, files, folders, kept)

    def save(self, index: int, state: RunState, before: Snapshot) -> None:
        """Checkpoint what stage ``index`` changed; a failure only stops checkpointing (said once)."""
        if not self.enabled or index >= len(self.stages) - 1:
            return
        stage, work = self.stages[index], state.require("work_dir")
        temp = self.folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            after = self.snapshot(state)
            changed = {
                name: getattr(state, name)
                for name, value in after.values.items()
                if value is None or before.values.get(name) != value
            }
            contents = Contents(
                changed,
                {rel: work / rel for rel, sig in after.files.items() if before.files.get(rel) != sig},
                sorted(set(before.files) - set(after.files)),
                sorted(after.folders - before.folders),
                {
                    "key": self.keys[index],
                    "stage": stage.name,
                    "index": index,
                    "identity": identity(type(stage)),
                }
                | {"seconds": state.timings.get(stage.name)},
            )
            self._make_folder(state)
            checkpoint.write(temp, contents)
            final = self.folder / self.names[index]
            if final.exists():  # the same key: an older copy of this very checkpoint
                shutil.rmtree(final)
            temp.rename(final)
        except Exception as exc:  # noqa: BLE001 - a checkpoint must never fail the run
            self.enabled = False
            self.policy.say(
                f"resume: could not checkpoint {stage.name} ({type(exc).__name__}: {exc}); "
                "later stages are not checkpointed"
            )
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def _make_folder(self, state: RunState) -> None:
        if (self.folder / MARKER).is_file():
            return
        self.folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.mkdir(mode=0o700, exist_ok=True)
        self.folder.chmod(0o700)  # made earlier by a row store, with the default mode
        about = {"written_by": "dq", "rules": state.rule_set.source_path, "input": state.plan.input_spec}
        (self.folder / MARKER).write_text(json.dumps(about) + "\n", encoding="utf-8")

    def finished(self) -> None:
        """The outputs are in place: remove this run's checkpoints (unless kept)."""
        if not self.enabled or not self.folder.is_dir():
            return
        if self.policy.keep:
            self.policy.say(f"resume: checkpoints kept in {self.folder} (--keep-checkpoints)")
            return
        with contextlib.suppress(OSError):
            _remove_run(self.folder)

    def abandoned(self) -> None:
        """The run was interrupted before its outputs were in place: say what a rerun will reuse."""
        done = [n for n in self.names if (self.folder / n).is_dir()] if self.enabled else []
        if done:
            self.policy.say(
                f"resume: {len(done)} completed stage(s) checkpointed in {self.folder}; "
                "the same command resumes from them"
            )
