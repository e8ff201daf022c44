"""Shapes shared by the HTTP layer, the use cases and the background workers.

- `schemas`: request and response models of the public API (field names are the API's).
- `payloads`: the stored payload of each operation kind (what the sender sends).

Nothing here imports the HTTP layer (`api/`), `usecases`, `background` or `process`.
"""
