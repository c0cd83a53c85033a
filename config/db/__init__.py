"""PostgreSQL backend that creates the `payment` schema before migrations run."""
