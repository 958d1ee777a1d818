"""The names the DAGs, the task bodies and the stages share: the channels, the pools, the
ledger's asset and the ops DAG's id. No Airflow import (the stages use these names without
importing Airflow); `aftercare.dagkit` turns them into Airflow objects."""

from __future__ import annotations

from typing import Literal, get_args

from aftercare.config import Channel

#: Every channel, in the order batches and summaries list them (the one definition: `Channel`).
CHANNELS: tuple[Channel, ...] = get_args(Channel)

#: Every task that opens the warehouse runs in this pool (1 slot by default): DuckDB admits one
#: writer process at a time. `aftercare.connections.warehouse_engine` enforces it at run time.
WAREHOUSE_POOL = "aftercare_warehouse"

#: The pool of each channel's send tasks (their slots and rates: config `airflow.pools`).
SEND_POOLS = {channel: f"aftercare_send_{channel}" for channel in CHANNELS}

#: The ledger aftercare.touchpoints as an Airflow asset: updated by the nightly plan and by
#: dispatch; the engagement DAG runs when it changes (besides its own schedule).
LEDGER_ASSET = {
    "name": "aftercare_touchpoints",
    "uri": "aftercare://warehouse/aftercare.touchpoints",
}

#: The DAG that applies the ops console's actions (pause, resume, judge again) in the warehouse:
#: the console triggers it with the action as its conf (runbook: dags/aftercare_ops.md).
OPS_DAG = "aftercare_ops"

#: What an action may be (the DAG's ``kind`` param; `aftercare.ops.actions` applies each).
OpsKind = Literal["pause", "resume", "rejudge"]
OPS_KINDS: tuple[OpsKind, ...] = get_args(OpsKind)
