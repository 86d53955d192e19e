"""Telling partner agencies: the transactional outbox of FHIR notification Bundles, Standard
Webhooks signing, delivery with an injected httpx client, the retry policy and the SSRF guard."""
