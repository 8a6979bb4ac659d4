"""Signals the API conventions send, for the apps above them to act on."""

from django.dispatch import Signal

# A request's credentials were refused (an unknown token, an expired key...).
# Sent by the API's error handler with `request` and `reason`; accounts audits it.
api_authentication_failed = Signal()
