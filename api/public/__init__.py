"""Open data: legal persons, their public records and the change feed, without credentials."""
