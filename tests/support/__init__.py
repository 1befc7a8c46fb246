"""Helpers shared by Moorage's test suites (image builders, processes, ports)."""
