"""The records sink: batched, idempotent upserts of signals into PostgreSQL."""
