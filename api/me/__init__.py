"""The signed-in subject's own data."""
