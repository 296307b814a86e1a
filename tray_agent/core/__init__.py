"""Agent core: one thread owns all state and consumes typed events from one queue."""
