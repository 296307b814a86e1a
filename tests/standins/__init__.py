"""Stand-ins for the two services that do not exist here: company IAM and internal LLM API."""
