"""Background work run by the job queue (handlers written against moorage.jobs.types)."""
