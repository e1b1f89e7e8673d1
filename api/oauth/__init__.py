"""The OAuth 2 endpoints and the subject's sign-in and consent pages."""
