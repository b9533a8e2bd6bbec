"""Demo data: a deterministic generator of realistic appeals (pure Python, no ORM)."""
