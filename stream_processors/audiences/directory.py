"""Every audience definition, materialized from the compacted topic."""

from __future__ import annotations

from typing import Any

from schemas.compacted import CompactedView
from schemas.topics import AUDIENCE_DEFINITIONS


class AudienceDirectory(CompactedView):
    """The ``audience.definitions`` topic in memory, looked up by workspace."""

    def __init__(self, bootstrap_servers: str, prefix: str = "") -> None:
        super().__init__(
            bootstrap_servers,
            AUDIENCE_DEFINITIONS.name(prefix),
            "audience_definition",
        )

    def of_workspace(self, workspace_id: str) -> list[dict[str, Any]]:
        """The workspace's audiences, oldest first, so events come in a stable order."""
        found = [a for a in self.values() if a["workspace_id"] == workspace_id]
        return sorted(found, key=lambda a: (a["created_at"], a["audience_id"]))

    def by_name(self, workspace_id: str, name: str) -> dict[str, Any] | None:
        """The workspace's audience called ``name``, if any."""
        for audience in self.of_workspace(workspace_id):
            if audience["name"] == name:
                return audience
        return None
