"""Internal token: IAM dialects, keyring storage, refresh before expiry."""
