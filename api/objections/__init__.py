"""Objections and credit repair: the subjects' requests and the departments' answers."""
