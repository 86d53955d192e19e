"""Storing what sources send: FHIR writes planned, resolved, versioned and coded, single and in
Bundles; reads and searches; identity and family links kept in line with each write."""
