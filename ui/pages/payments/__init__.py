"""The Payments page, by feature: pay form, billing cards, saved cards, scheduled payments, history."""

from ui.pages.payments.page import PaymentsPage

__all__ = ["PaymentsPage"]
