"""自动比对: find the same matter across channels so that it is handled once and counted once.

- ``detector``: the pure, ORM-free duplicate detector (records in; explained matches and groups
  out) that intake and ``minsheng dedup groups`` share; save/load and rebuild from records.
- ``places``: place mentions (communities, roads, buildings, landmarks, admin units) in addresses
  and texts, regex-first with the optional Jinan gazetteer.
- ``text``: normalisation, character bigrams and their weights (prior from jieba's dictionary).
- ``index``: compact numpy storage, MinHash and the banded LSH index.
- ``cli``: the CSV side of ``minsheng dedup groups`` (the management command is a thin wrapper).
"""
