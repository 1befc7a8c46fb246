"""Durable background jobs in the metadata database: queue, leases, retries, periodic schedules."""
