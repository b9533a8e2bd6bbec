"""自动比对: find the same matter across channels so that it is handled once and counted once.

``detector`` holds the pure, ORM-free duplicate detector (records in, groups and explained matches
out) that intake and ``minsheng dedup groups`` share; ``places`` extracts place mentions.
"""
