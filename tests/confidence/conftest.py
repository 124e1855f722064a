"""The role fixtures (a real SQLite store, projects with items, a gateway to the fake LLM)."""

from tests.llm_roles.conftest import gateway_for, make_items

__all__ = ["gateway_for", "make_items"]
