"""A queue worker process for concurrency and kill tests: answers with the first label.

usage: python -m tests.queue_worker DB_URL WORKER_ID [SLEEP_SECONDS] [LEASE_SECONDS] [KIND]
Prints one line of JSON with its stats when the queue is empty.
"""

from __future__ import annotations

import json
import sys
import time

from annotate.queue.leases import ClaimedTask, Provenance
from annotate.queue.worker import Answer, run_worker
from annotate.store.engine import open_store


def main() -> None:
    url, worker_id = sys.argv[1], sys.argv[2]
    pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    lease = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    kind = sys.argv[5] if len(sys.argv) > 5 else "llm"
    store = open_store(url, migrate=False)

    def answer(task: ClaimedTask) -> Answer:
        if pause:
            time.sleep(pause)
        return Answer(value={"label": "a"}, provenance=Provenance(worker_id, kind))

    stats = run_worker(store, worker_id, answer, worker_kind=kind, roles=["annotator"],
                       lease_seconds=lease)
    print(json.dumps({"worker": worker_id, "claimed": stats.claimed,
                      "submitted": stats.submitted, "conflicts": stats.conflicts,
                      "task_ids": stats.task_ids}), flush=True)
    store.dispose()


if __name__ == "__main__":
    main()
