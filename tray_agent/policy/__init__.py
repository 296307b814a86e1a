"""Organization policy: allowed models, rate limits, quotas and the admin lock."""
