"""A raw message is acknowledged only once every output it caused is delivered."""

from __future__ import annotations

from stream_processors.delivery import Ticket


class Acknowledgements:
    """Counts how often a ticket acknowledged its message."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def test_not_acknowledged_while_an_output_is_outstanding() -> None:
    """Two outputs, one delivered: the message must not be committed yet."""
    acknowledged = Acknowledgements()
    ticket = Ticket(acknowledged)
    ticket.add()
    ticket.add()
    ticket.close()

    ticket.delivered()

    assert acknowledged.count == 0


def test_acknowledged_once_the_last_output_is_delivered() -> None:
    """The last delivery after handling ended acknowledges exactly once."""
    acknowledged = Acknowledgements()
    ticket = Ticket(acknowledged)
    ticket.add()
    ticket.add()
    ticket.close()

    ticket.delivered()
    ticket.delivered()

    assert acknowledged.count == 1


def test_deliveries_before_handling_ends_do_not_acknowledge() -> None:
    """Outputs delivered while the message is still being handled wait for close."""
    acknowledged = Acknowledgements()
    ticket = Ticket(acknowledged)
    ticket.add()
    ticket.delivered()

    before_close = acknowledged.count
    ticket.add()
    ticket.close()
    ticket.delivered()

    assert (before_close, acknowledged.count) == (0, 1)


def test_message_without_outputs_is_acknowledged_at_close() -> None:
    """A message that produced nothing is acknowledged when handling ends."""
    acknowledged = Acknowledgements()
    ticket = Ticket(acknowledged)

    ticket.close()

    assert acknowledged.count == 1
