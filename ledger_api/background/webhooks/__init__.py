"""Events, reminders and signed webhooks (issue 12).

outbox.py        NewEvent, write_events: the durable outbox, in the caller's transaction
chain_events.py  the events the index projection records
reminders.py     points.expiring / points.expired, computed from the index
store.py         fan-out, leases and outcomes of deliveries (all their SQL)
delivery.py      Deliverer: the thread of `ledger work` that reminds, fans out and delivers
targets.py       which URLs an endpoint may have
secrets.py       endpoint secrets (whsec_), encrypted at rest
"""
