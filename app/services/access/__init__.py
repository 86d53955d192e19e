"""Who may do what, and the record of it: authentication, users, clients, HL7 senders, the audit
trail and its sealing, and the worker's upkeep."""
