"""The HTTP face of the platform: the app factory, blueprints, errors, operations, the CLI."""
