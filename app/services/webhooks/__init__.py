"""Outbound webhooks: endpoints, the events made from the outbox, and sending them."""
