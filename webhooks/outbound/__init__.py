"""Outbound merchant webhooks.

Payments write an `OutboxEvent` in the transaction of each change. The relay (`relay`) fans
each event out once into one `WebhookDelivery` per matching enabled endpoint and queues them;
a worker (`delivery`) signs and POSTs each one (Standard Webhooks) to the address it checked
(`destinations`, `transport`), records the attempt and either finishes or schedules the next
try (`schedule`). Exhausted deliveries are dead-lettered and mirrored in the Redis list
`webhook_dlq`, from which operators replay them (`replay`). Endpoints are managed by
merchants through the API (`endpoints`).
"""
