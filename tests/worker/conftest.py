"""The worker's delivery loop is tested with the notification tests' state and client: a
state whose webhooks may reach loopback, and an admin's client of it."""

from tests.notify.conftest import hooks_client, hooks_state

__all__ = ["hooks_client", "hooks_state"]
