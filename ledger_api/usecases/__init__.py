"""What the routes (and the CLI) call: one service method per use case.

    context.py     RequestContext (caller, Idempotency-Key, fingerprint); the brand directory
    checks.py      checks that need state: member signatures, nonces, balances, badges
    operations.py  OperationsService: earn, gifts, donations, redemptions, tiers, badges
    status.py      StatusService: an operation's status, waiting for it, the HTTP answer
    brands.py      BrandsService: alliance administration and API keys
    reads.py       ReadsService: reads served from the index

A use case validates, turns a request into a `Draft` and hands it to the intake
(`background.intake`); it never imports the HTTP layer (the `api` package).
"""
