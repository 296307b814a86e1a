"""Stand-ins for the two services that do not exist here: the company IAM and its internal LLM API."""
