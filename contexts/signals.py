"""Signals contexts sends for the apps above it."""

from django.dispatch import Signal

# Sent by `manage.py reencrypt_secrets` inside its transaction: a receiver
# re-encrypts the secrets its app keeps (with contexts.crypto.reencrypt) and
# returns `(count, "what they are")`; raising CredentialKeyError rolls all back.
secrets_reencrypting = Signal()
