"""Local stand-ins for third-party services, for tests."""
