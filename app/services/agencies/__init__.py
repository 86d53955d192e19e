"""Partner agencies: their registration and areas, what they may read, and their
subscriptions."""
