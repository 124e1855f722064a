"""A batched queue worker process for the kill tests: claims BATCH tasks at a time and
answers each with the first label after a pause per batch.

usage: python -m tests.queue_batch_worker DB_URL WORKER_ID BATCH [SLEEP_SECONDS] [LEASE_SECONDS]
Prints one line of JSON with its stats when the queue is empty.
"""

from __future__ import annotations

import json
import sys
import time

from annotate.queue.leases import ClaimedTask, Provenance
from annotate.queue.worker import Answer, run_batch_worker
from annotate.store.engine import open_store


def main() -> None:
    url, worker_id, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    lease = int(sys.argv[5]) if len(sys.argv) > 5 else 300
    store = open_store(url, migrate=False)

    def answer(tasks: list[ClaimedTask]) -> list[Answer]:
        if pause:
            time.sleep(pause)
        return [Answer(value={"label": "a"}, provenance=Provenance(worker_id, "llm"))
                for _ in tasks]

    stats = run_batch_worker(store, worker_id, answer, batch_size=batch, roles=["annotator"],
                             lease_seconds=lease)
    print(json.dumps({"worker": worker_id, "claimed": stats.claimed,
                      "submitted": stats.submitted, "conflicts": stats.conflicts,
                      "task_ids": stats.task_ids}), flush=True)
    store.dispose()


if __name__ == "__main__":
    main()
