"""The fault tests reuse the role tests' project builder."""

from tests.llm_roles.conftest import make_items

__all__ = ["make_items"]
