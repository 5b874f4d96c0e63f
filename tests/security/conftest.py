"""The fault suite's private stack and workspaces, shared with the security checks."""

from tests.faults.conftest import stack, tenant

__all__ = ["stack", "tenant"]
