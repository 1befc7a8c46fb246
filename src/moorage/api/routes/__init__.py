"""One router per context of the REST API."""
