"""Route stage: change events in, reindex requests out.

Root-entity events become requests directly; related-entity events go through a reverse lookup.
"""
