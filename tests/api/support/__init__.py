"""Test support: a real anvil with the contracts deployed, a real gateway, real HTTP."""
