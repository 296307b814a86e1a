"""Agent logging: structured lines, rotation, secrets redacted at write time."""
