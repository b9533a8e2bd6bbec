"""民生警务平台 — the Minsheng police service platform."""

__version__ = "0.1.0"
