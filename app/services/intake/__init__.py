"""Sources that do not speak FHIR REST one resource at a time: bulk NDJSON import and its jobs,
HL7 v2 messages, and the demonstration data."""
