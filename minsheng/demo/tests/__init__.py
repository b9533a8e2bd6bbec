"""Tests for the demo appeal generator (plain pytest, no database)."""
