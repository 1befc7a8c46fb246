"""Identities: users, passwords, registry tokens."""
