"""What a safeguarding nurse reads and does: the worklist, a concern and its review,
chronologies, banners, case owners and sharing records. `shapes` holds what these use cases
answer with: the models the nurse API serves."""
