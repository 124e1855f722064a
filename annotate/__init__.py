"""Human + LLM annotation platform: store, shared task queue, routing, import/export, CLI."""

__version__ = "0.1.0"
