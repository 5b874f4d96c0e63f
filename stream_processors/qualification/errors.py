"""Errors of the qualification package."""

from __future__ import annotations


class RulesError(ValueError):
    """Workspace rules that cannot be used, naming the path of the offending value.

    The admin API and the CLI show ``path`` to the person who wrote the rules, so
    it uses the same spelling they wrote: ``icps[0].criteria[1].op``.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
