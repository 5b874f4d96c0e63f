"""The webhook sink: signed deliveries to each workspace's receiver, with retries."""
