"""`annotate bench replay`: the evidence that a routing policy saves people's time.

A real multi-annotator dataset is replayed through the real queue: simulated people answer
with their *recorded* labels (only on items they really labelled, under their own ids), the
LLM roles answer live, and the routing policy decides who is asked and when the moderator or
a person adjudicates. The final labels are then scored against the people who were *not*
asked (or gold), beside baselines computed on the same items in the same run.

- :mod:`annotate.replay.dataset`: reading a dataset into items with their recorded labels.
- :mod:`annotate.replay.simulate`: the replay itself (queue, LLM workers, simulated people).
- :mod:`annotate.replay.metrics`: scores, baselines, bootstrap intervals, the plot.
"""
