"""SQLite store (filled in below)."""
