"""Email: an outbox table written with the change that causes a message, and a sender worker."""
