"""The dispatch stage: send the ledger's due touchpoints on their channels, exactly once:
`batches` (what is due, into batch files per channel; the journals folded back into the
ledger), `journal` (the claim-check files and their journals), `send` (one batch through its
providers), `clock`. Its task bodies: `aftercare.tasks.dispatch`."""
