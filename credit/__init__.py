"""The credit data domain: subjects, records, identifiers, disclosure rules."""
