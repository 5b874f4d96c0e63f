"""Run the webhooks sink: ``python -m sinks.webhooks`` or ``unstuck sink webhooks``."""

from schemas.observability import configure_logging
from sinks.webhooks.worker import main

if __name__ == "__main__":
    configure_logging("sink.webhooks")
    main()
