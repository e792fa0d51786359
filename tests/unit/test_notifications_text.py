"""Names and text as customers and staff really write them reach the email intact: accents in the
greeting and the To header, curly quotes and the euro sign in a staff note, through MIME and back."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import formataddr

from services.notifications import render
from services.notifications.adapters import SMTP_POLICY

ZOE = "Zoë Ångström-Núñez"
NOTE = "a photo of the receipt for the €2.50 fee, and the page marked “past due” (it's on Rue de l'Église)."


def _over_the_wire(mail: render.RenderedEmail, to: str) -> email.message.EmailMessage:
    """The message as the sender builds it, serialised as SMTP carries it, parsed as a mail client does."""
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    msg["To"] = formataddr((to, "zoe.angstrom@example.com"))
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    wire = msg.as_bytes(policy=SMTP_POLICY)
    assert wire.isascii()  # 7-bit safe: encoded headers, a declared charset and transfer encoding
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_accented_names_curly_quotes_and_euro_survive_mime() -> None:
    data = {
        "claim_title": "More information needed for claim $claim_number",
        "claim_body": "We need: $note",
        "claim_sms": "x",
        "claim_number": "CLM-700112",
        "note": NOTE,
        "first_name": "Zoë",
    }
    mail = render.email("claim_update", data, full_name=ZOE, required=False)
    assert f"Dear {ZOE}," in mail.text and NOTE in mail.text
    # HTML escapes only markup characters; letters, quotes and € stay themselves.
    assert f"Dear {ZOE}," in mail.html
    assert "€2.50 fee, and the page marked “past due” (it&#x27;s on Rue de l&#x27;Église)." in mail.html
    parsed = _over_the_wire(mail, ZOE)
    assert parsed["To"].addresses[0].display_name == ZOE
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    # SMTP carries CRLF line ends; the content is otherwise exactly what was rendered.
    assert text.get_content().replace("\r\n", "\n") == mail.text
    assert html.get_content().replace("\r\n", "\n") == mail.html
    assert "\ufffd" not in text.get_content() + html.get_content()


def test_welcome_subject_with_an_accented_first_name_is_encoded_and_decoded() -> None:
    mail = render.email("welcome", {"first_name": "Zoë"}, full_name=ZOE, required=False)
    assert mail.subject == "Welcome to Portal, Zoë"
    parsed = _over_the_wire(mail, ZOE)
    assert parsed["Subject"] == "Welcome to Portal, Zoë"
    assert render.sms_text("welcome", {"first_name": "Zoë"}).startswith("Portal: welcome, Zoë.")
