"""Channels: Twilio SMS, Telegram and the demo's simulated phone, behind one small interface."""
