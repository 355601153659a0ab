"""Sink stage: documents from the documents topic in, bulk writes to the index alias out."""
