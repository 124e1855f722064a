"""Known-answer tests that close the gaps mutation testing found in the core (queue, routing,
schema, agreement): see BENCHMARKS.md, "Mutation score"."""
