"""The daemon's Kafka edge: topic layout, client settings, the stage runner, the tracked producer and
the document codec. Stages never import confluent-kafka; they read ``indexer.messages.Record``s."""
