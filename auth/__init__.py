"""The OAuth 2 authorization server and resource protection: clients, tokens, scopes, keys."""
