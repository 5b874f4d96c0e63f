"""Run the audience sink: ``python -m sinks.audiences``."""

from schemas.observability import configure_logging
from sinks.audiences.worker import main

if __name__ == "__main__":
    configure_logging("sink.audiences")
    main()
