"""Judging the facts: reconciliation of touched families against the rules, the service's own
Flags (one concern per child), their events for agencies, and the backtest."""
