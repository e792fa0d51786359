"""Who has an account open right now: customers in their app, staff in the console."""
