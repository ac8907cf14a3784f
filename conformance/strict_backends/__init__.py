"""Strict backends: loopback endpoints that behave as DynamoDB and Redis do in production.

``--conformance-strict-dynamodb UPSTREAM_URL`` puts a strict DynamoDB endpoint
in front of an emulator (stale eventually consistent reads, the documented
limits, throttling); ``--conformance-faulty-redis UPSTREAM_URL`` a
fault-injecting relay in front of Redis. ``{strict_dynamodb}`` and
``{faulty_redis}`` in ``--store-option`` values stand for their addresses.
See docs/dynamodb.md and docs/redis.md.
"""
