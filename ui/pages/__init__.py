"""The pages of the account view; each takes the AccountOverview and renders what it knows."""
