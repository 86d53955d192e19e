"""What a safeguarding nurse reads and does: the worklist, a concern and its review,
chronologies, banners, case owners and sharing records."""
