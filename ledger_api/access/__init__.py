"""Who may call: API keys (hashed, scoped to one brand or the admin) and per-key rate limits."""
