"""The bodies of ``aftercare_dispatch``'s tasks (runbook: dags/aftercare_dispatch.md), in the
shape of every task body (`aftercare.tasks`).

- `prepare_batches` (warehouse pool): folds journals left unfolded, closes what can no longer go
  out, and writes the due touchpoints into batch files per channel (`dispatch.batches`);
- `send_batch` (mapped, one per batch, in the channel's pool): providers only, never the
  warehouse; every provider answer goes into the batch's journal before the next send
  (`dispatch.send`);
- `record_outcomes` (warehouse pool, whatever the send tasks did): folds the journals into the
  ledger: ``sent`` with provider ids, ``failed`` / ``suppressed`` with reasons, new suppressions,
  transient failures left planned with an attempt counted.
"""

from __future__ import annotations

from typing import Any

from aftercare.config import load_config


def prepare_batches(*, run_id: str, try_number: int, dry_run: bool) -> dict[str, Any]:
    """Fold earlier journals, close the overdue, write the due touchpoints into batches; the
    batch descriptors by channel, and the counts."""
    from collections import Counter

    from aftercare import connections
    from aftercare.connections import clock, get_connection, open_warehouse, staging_path
    from aftercare.dispatch import batches
    from aftercare.engagement import loads
    from aftercare.providers.factory import Providers

    config = load_config()
    # no snapshot published here: record_outcomes, which runs whatever the sends did, does
    with open_warehouse(publish=False) as engine:
        # opt-outs recorded before this run starts are honoured by it, whatever the
        # engagement schedule; a service that does not answer fails the task (nothing is sent
        # that an opt-out it holds forbids). No connection: no preferences service deployed.
        opted_out: Counter[str] = Counter()
        if connections.has_connection(connections.PREFERENCES):
            feed = Providers(config, "email", get_connection).preferences
            opted_out = loads.load_preferences(engine, config, feed, clock().now())
        batched, counts = batches.prepare(
            engine,
            config,
            clock().now(),
            staging_path,
            run_id=run_id,
            try_number=try_number,
            dry_run=dry_run,
        )
    return {**batched, "counts": dict(counts + opted_out)}


def send_batch(batch_id: str, channel: str, path: str, count: int, dry_run: bool) -> dict[str, int]:
    """One batch through the channel's providers (never the warehouse), every answer journaled
    before the next send."""
    import logging

    from aftercare.connections import clock, get_connection, staging_path
    from aftercare.dispatch.send import Delivery, send_batch, stop_on_terminate
    from aftercare.messages import Templates
    from aftercare.providers.factory import Providers

    config = load_config()
    providers = Providers(config, channel, get_connection)
    delivery = Delivery(config, providers, Templates.load(config), clock())
    logging.getLogger(__name__).info("batch %s: %d %s touchpoints", batch_id, count, channel)
    try:
        with stop_on_terminate(delivery.stop):
            counts = send_batch(staging_path(path), delivery, dry_run=dry_run)
    finally:
        providers.close()
    return dict(counts)


def record_outcomes() -> dict[str, int]:
    """Fold the journals into the ledger."""
    from aftercare.connections import open_warehouse, staging_path
    from aftercare.dispatch import batches

    with open_warehouse() as engine:
        return dict(batches.fold(engine, load_config(), staging_path))
