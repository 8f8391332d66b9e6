"""Per-family loss modules; importing this package registers every loss."""
