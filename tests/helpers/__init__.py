"""Reusable helpers for tests that run real processes."""
