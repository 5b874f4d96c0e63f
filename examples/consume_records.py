"""A minimal subscriber of the ``records`` topic: decode and print each record.

Needs only the ``schemas`` package of this repository and confluent-kafka. Each
value names its writer schema in its first ten bytes (Avro single-object
encoding); ``schemas.codec.decode`` checks that name and decodes the rest.

    python examples/consume_records.py --bootstrap localhost:9092 --group my-app

One JSON object a line goes to stdout; commit offsets after your own side effect
(here: after printing), so a restart resumes without losing a record.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException

# Run from a checkout without installing: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas import codec
from schemas.topics import RECORDS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="localhost:9092")
    parser.add_argument("--topic-prefix", default="", help="UNSTUCK_TOPIC_PREFIX")
    parser.add_argument("--group", default="example-records-subscriber")
    parser.add_argument("--max-messages", type=int, default=None)
    parser.add_argument(
        "--timeout", type=float, default=None, help="Stop after N quiet seconds."
    )
    return parser.parse_args(argv)


def printable(value: Any) -> Any:
    """Timestamps as ISO 8601 text; everything else a record holds is JSON already."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot print {type(value).__name__}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([RECORDS.name(args.topic_prefix)])

    seen = 0
    quiet = 0.0
    try:
        while args.max_messages is None or seen < args.max_messages:
            message = consumer.poll(1.0)
            if message is None:
                quiet += 1.0
                if args.timeout is not None and quiet >= args.timeout:
                    break
                continue
            if message.error() is not None:
                raise KafkaException(message.error())

            quiet = 0.0
            try:
                record = codec.decode("record", message.value())
            except codec.CodecError as error:
                print(f"skipping undecodable message: {error}", file=sys.stderr)
            else:
                print(json.dumps(record, default=printable), flush=True)
            consumer.commit(message=message, asynchronous=False)
            seen += 1
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
