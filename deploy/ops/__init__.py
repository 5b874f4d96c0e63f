"""Operator verbs behind ``unstuck status``, ``tail``, ``send`` and ``dlq``."""
