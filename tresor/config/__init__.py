"""Config loading, validation and write-back (filled in below)."""
