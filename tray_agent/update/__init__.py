"""Signed per-user updates (The Update Framework) installed side by side, with rollback.

Modules, one concern each: ``source`` (where updates come from and the mode, policy before
config), ``layout`` (the versions folder and its atomic ``current`` pointer, bad marks),
``fetch`` (check and download through python-tuf's ngclient, which verifies signatures,
expiry, metadata versions, hashes and lengths), ``install`` (unpack into ``versions/V``),
``health`` (boot attempts and the automatic rollback), ``status`` (what the CLI shows).
"""
