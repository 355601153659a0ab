"""Fetching documents from the GraphQL gateway: batching, retries, a circuit breaker and a rate limit.

``DocumentFetcher.fetch(ids)`` is the whole interface the fetch stage needs; it knows nothing of Kafka.
"""

from indexer.fetch.breaker import BreakerState, CircuitBreaker
from indexer.fetch.fetcher import DocumentFetcher, EntityRenderer
from indexer.fetch.gateway import GatewayClient, GatewayReply
from indexer.fetch.metrics import FetchMetrics
from indexer.fetch.outcomes import Deleted, Failed, FailureReason, Fetched, FetchOutcome
from indexer.fetch.rate_limit import RequestRateLimiter
from indexer.fetch.versions import VersionClock

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "Deleted",
    "DocumentFetcher",
    "EntityRenderer",
    "Failed",
    "FailureReason",
    "FetchMetrics",
    "FetchOutcome",
    "Fetched",
    "GatewayClient",
    "GatewayReply",
    "RequestRateLimiter",
    "VersionClock",
]
