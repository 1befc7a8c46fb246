"""Metadata database: engine, sessions, models and migrations."""
