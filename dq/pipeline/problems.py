"""Config problems collected across a whole rule set and reported together, one line each."""

from __future__ import annotations

from dq.errors import DqError


class Problems:
    """Config problems collected across the whole rule set, raised together as one DqError."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{self.origin}: {where}: {message}" if where else f"{self.origin}: {message}")

    def extend(self, lines: list[str]) -> None:
        self.lines.extend(lines)

    def raise_if_any(self) -> None:
        if self.lines:
            raise DqError("\n".join(dict.fromkeys(self.lines)))
