"""The exit statuses a processor worker ends with, and which ask for a restart.

A worker that cannot go on safely ends its process rather than idle or skip:
whatever runs it (``unstuck dev``'s supervisor, Kubernetes, the test harness)
starts it again, and it replays from the last committed offset.
"""

from __future__ import annotations

from typing import Final

# An agent crashed: the uncommitted messages are replayed by the next worker,
# rather than this one sitting idle with a dead agent.
AGENT_CRASHED_EXIT: Final = 70
# Faust handed over an offset past one it never delivered (faust-streaming#318);
# the hole is not acknowledged, so the next worker reads it from the commit.
OFFSET_GAP_EXIT: Final = 71
# sysexits' EX_CONFIG: the changelog topics cannot be made, or used, as the
# tables need them. A restart helps only once someone has fixed the cluster.
CHANGELOGS_UNUSABLE_EXIT: Final = 78

# The statuses with which a worker asks to be started again.
RESTART_EXITS: Final = frozenset({AGENT_CRASHED_EXIT, OFFSET_GAP_EXIT})
