"""Restricted reads: credit reports under consent, legal basis or the subject's own sign-in."""
