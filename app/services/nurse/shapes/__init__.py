"""What the nurse's use cases answer with: pydantic models that the nurse API serves as they
are (its `response_model`s) and the pages read by attribute. One declaration per shape, so a
use case that drifts from what the API promises fails mypy and its own tests, not a request.

A field a page shows but the API does not serve is declared with `exclude=True`: it is left
out of the JSON and of the OpenAPI document (`ChildSummary.nhs_number`)."""
