"""The HTTP edge: the API client, pacing, upstream errors and the read strategy."""
