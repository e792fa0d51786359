"""Render every notice type's email (HTML and plain text) and text message with sample data, so
the wording and branding can be reviewed without sending anything:

    python -m services.notifications.preview OUTDIR
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from services.notifications import render
from services.notifications.catalogue import TYPES
from services.notifications.rules import CASE_TEXT, CHANGE_TEXT, CLAIM_STATUS_TEXT, stage_wording

SAMPLE: dict[str, Any] = {
    # Names and notes as people really write them: accents, apostrophes, curly quotes, the euro sign.
    "first_name": "Zoë",
    "policy_number": "AUT-100234",
    "amount_minor": 12_400,
    "currency": "USD",
    "due_date": "2026-12-01",
    "days": 3,
    "days_text": "in 3 days",
    "card": "Visa 4242",
    "receipt_number": "RCT-261123-9F2A11C0",
    "failure_code": "card_declined",
    "cancel_on": "2026-12-20",
    "cancelled_on": "2026-12-20",
    "reinstate_until": "2027-01-19",
    "document_title": "Declarations page 2026–2027",
    "claim_number": "CLM-700112",
    "acknowledge_text": "by Tue 24 Nov 2026",
    "payment_day": 15,
    "note": "a photo of the other car's number plate and the “parking” receipt (€4.50).",
    "amount_text": "",
    "message": "We have refunded the late fee.",
}


# Which facts each type's real data carries (the email's fact table shows what the data has).
FACTS = {"policy_number", "claim_number", "amount_minor", "due_date", "cancel_on", "receipt_number"}
FACTS_BY_TYPE: dict[str, set[str]] = {
    "welcome": set(),
    "payment_due": {"policy_number", "amount_minor", "due_date"},
    "autopay_upcoming": {"policy_number", "amount_minor", "due_date"},
    "payment_received": {"policy_number", "amount_minor", "receipt_number"},
    "payment_failed": {"policy_number", "amount_minor"},
    "pending_cancellation": {"policy_number", "amount_minor", "cancel_on"},
    "claim_received": {"policy_number", "claim_number"},
    "claim_update": {"claim_number"},
    "case_update": set(),
}

SAMPLE_NAME = "Zoë Ångström-Núñez"


def sample_data(notice_type: str) -> dict[str, Any]:
    keep = FACTS_BY_TYPE.get(notice_type, {"policy_number"})
    data = {k: v for k, v in SAMPLE.items() if k not in FACTS or k in keep}
    if "amount_minor" not in keep:
        data.pop("currency", None)
    data.update(stage_wording("notice"))
    data["change_text"] = CHANGE_TEXT["policy.payment_day_changed"]
    title, body = CLAIM_STATUS_TEXT["info_requested"]
    data.update(claim_title=title, claim_body=body, claim_sms=body)
    title, body = CASE_TEXT["case.responded"]
    data.update(case_title=title, case_body=body)
    return data


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m services.notifications.preview OUTDIR", file=sys.stderr)
        return 2
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    for key, kind in TYPES.items():
        data = sample_data(key)
        mail = render.email(key, data, full_name=SAMPLE_NAME, required=kind.required)
        (out / f"{key}.html").write_text(mail.html, encoding="utf-8")
        (out / f"{key}.txt").write_text(f"Subject: {mail.subject}\n\n{mail.text}", encoding="utf-8")
        (out / f"{key}.sms.txt").write_text(render.sms_text(key, data) + "\n", encoding="utf-8")
        print(f"{key}: {mail.subject}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
