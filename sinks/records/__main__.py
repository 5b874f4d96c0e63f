"""Run the records sink: ``python -m sinks.records`` or ``unstuck sink records``."""

from schemas.observability import configure_logging
from sinks.records.worker import main

if __name__ == "__main__":
    configure_logging("sink.records")
    main()
