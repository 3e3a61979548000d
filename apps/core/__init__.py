"""HTTP/API plumbing shared by media and search; imports neither."""
