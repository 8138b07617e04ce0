"""What Vecino forgets and hides: retention, erasure on request and masked event streams.

* ``tracker_store``: Rasa's SQL tracker store that erases a conversation once the citizen
  asked for it, and purges conversations older than the retention limit.
* ``event_broker``: Rasa's RabbitMQ broker that masks personal data in every event.
* ``purge``: ``make purge`` / ``python -m privacy.purge``, the retention command.
"""
