"""Components document themselves: the first docstring line is their summary in listings."""

from __future__ import annotations


class Documented:
    """Mixin: the first docstring line is the component's one-line summary in listings."""

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""
