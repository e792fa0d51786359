"""Who the customer is dealing with: the insurer's name, phone lines, email and address.

One profile (resources/documents/branding.json, the same file the PDFs are branded from) is
served to the app, so Help, the ID cards, the sign-in window and every document give the same
numbers."""
