"""Audiences: saved conditions over leads and their signals, kept current by the stream.

``language`` parses a condition, ``evaluate`` decides it for one lead at one instant,
``state`` keeps the bounded per-lead history, ``membership`` turns decisions into
entered/left events, and ``agent`` runs all of it inside the processor's Faust app.
"""
