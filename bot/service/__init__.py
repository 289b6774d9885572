"""The service: turns, outbox sender, ticker and their loops."""
