"""The live-cloud workflow: the manual driver, the ledger and the runbook."""
