"""PRC rules (being written)."""
