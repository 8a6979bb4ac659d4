"""Notifications: channels (webhook, email), rules (which events of which jobs),
and deliveries with their retries. See docs/monitoring.md#notifications.

Nothing here runs in a run's path: the run's end only records deliveries and
enqueues one django-q2 task per delivery (`monitoring.tasks.deliver_notification`).
"""
