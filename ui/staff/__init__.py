"""The staff window: agent console, supervisor console and branch desk around the AccountView."""
