"""Running the sidecar: spawning, readiness, crash policy, process-tree termination."""
