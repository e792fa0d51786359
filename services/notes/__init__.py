"""Internal notes staff keep on an account (never shown to the customer)."""
