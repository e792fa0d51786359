"""Screenshots of the Claims page, driven like a person would (used by portal_app.screenshots).

Files a real claim with real photos against the running service, so every picture shows the
product's actual behaviour: the form with photos attached, uploads in progress, the timeline
after an adjuster asked for more information.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QWidget

from portal_app.client import PortalClient


async def _until(check: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


def _scroll_to(page: Any, name: str) -> None:
    card = page.detail_view.findChild(QWidget, name)
    if card is not None:
        top = card.mapTo(page.widget(), QPoint(0, 0)).y()
        page.verticalScrollBar().setValue(max(0, top - 16))


def write_sample_photos(folder: Path, big: int = 0) -> list[Path]:
    """A few JPEG 'photos' (colour fields with grain) and, if asked, some large ones."""
    from PIL import Image, ImageDraw, ImageFilter

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    scenes = [
        ("rear-bumper.jpg", (96, 110, 128), (200, 60, 50)),
        ("tailgate.jpg", (70, 90, 120), (230, 230, 235)),
        ("other-car-plate.jpg", (120, 120, 110), (240, 200, 60)),
    ]
    for name, sky, thing in scenes:
        img = Image.new("RGB", (1200, 900), sky)
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 560, 1200, 900), fill=(60, 60, 64))
        draw.rounded_rectangle((250, 330, 950, 680), radius=60, fill=thing)
        draw.ellipse((330, 600, 470, 740), fill=(25, 25, 28))
        draw.ellipse((730, 600, 870, 740), fill=(25, 25, 28))
        img = img.filter(ImageFilter.GaussianBlur(1.2))
        path = folder / name
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = "2026:11:22 17:31:05"  # DateTimeOriginal, as a phone writes it
        img.save(path, "JPEG", quality=90, exif=exif.tobytes())
        paths.append(path)
    for i in range(big):
        # Grainy full-resolution frames: ~20 MB each, like a phone's high-quality mode.
        width, height = 4000, 3000
        scene = Image.open(paths[i % len(scenes)]).resize((width, height))
        noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
        path = folder / f"IMG_40{i + 21}.jpg"
        buffer = io.BytesIO()
        Image.blend(scene, noise, 0.3).save(buffer, "JPEG", quality=95)
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


async def shoot_claims(
    view: Any,
    main: Any,
    out: Path,
    base_url: str,
    save: Callable[[Any, Path], None],
    headers: dict[str, str] | None = None,
) -> None:
    """Claims list, the form with photos attached, uploads in progress, and the timeline."""
    page = view.claims_page
    small_and_big = write_sample_photos(out.parent / ".claim-photos", big=3)
    photos = small_and_big[3:] + small_and_big[:3]  # the large ones first: their bars move visibly
    view.show_page("claims")
    await _until(lambda: page.loaded, 20, "the claims list")
    await asyncio.sleep(0.4)
    save(main, out / "claims.png")

    # The form, filled in, with photos attached (two small, three large).
    page.open_form()
    form = page.form
    await asyncio.sleep(0.2)
    form.policy.setCurrentIndex(max(form.policy.findText("Auto insurance · AUT-100234"), 0))
    form.vehicle.setText("2021 Subaru Outback, plate IL AB 12345")
    form.loss_type.setCurrentIndex(form.loss_type.findData("collision"))
    now = form.loss_at.dateTime()
    form.loss_at.setDateTime(now.addSecs(-3 * 3600))
    form.location.setText("N Ashland Ave & W Belmont Ave, Chicago")
    form.description.setPlainText(
        "Waiting at a red light when a delivery van failed to stop and hit the back of the car. "
        "Rear bumper pushed in, tailgate will not close."
    )
    form.other_parties.setPlainText(
        "White Ford Transit, plate IL 77 DLV 3; driver Chris Pike, Lakeside Mutual"
    )
    form.police_report.setText("CPD-26-118842")
    form.add_photos(photos)
    await asyncio.sleep(1.2)  # thumbnails decode in worker threads
    save(main, out / "claim-form.png")
    page.verticalScrollBar().setValue(page.verticalScrollBar().maximum())
    await asyncio.sleep(0.3)
    save(main, out / "claim-form-photos.png")

    # Submit: the claim number comes back at once and the uploads start, three at a time.
    form.submit()
    await _until(lambda: page.mode == "detail", 20, "the filed claim")
    _scroll_to(page, "ClaimPhotosCard")
    with contextlib.suppress(TimeoutError):  # catch a bar part-way if we can; else as it stands
        await _until(lambda: any(0 < e.sent < e.size for e in page.uploads.entries.values()), 20)
    save(main, out / "claim-uploading.png")  # grab() paints now: the bars as they are this instant
    await _until(lambda: page.uploads.running() == 0, 60, "the uploads to finish")
    await _until(lambda: len(page._thumb_bytes) >= len(photos), 60, "the thumbnails")
    await asyncio.sleep(1.0)
    _scroll_to(page, "ClaimPhotosCard")
    await asyncio.sleep(0.2)
    save(main, out / "claim-uploaded.png")

    # An adjuster acknowledges, reviews and asks a question; the customer's open app shows it.
    claim_id = page.current_id
    agent = PortalClient(base_url, service_headers=headers)
    try:
        await agent.sign_in("agent@portal.example", "portal-demo-2026")
        await agent.move_claim(claim_id, "acknowledge")
        await agent.move_claim(claim_id, "start_review")
        await agent.move_claim(
            claim_id, "request_info", note="Please add a photo of the van's plate and the repair estimate."
        )
    finally:
        await agent.aclose()
    await _until(
        lambda: (c := page.claim(claim_id)) is not None and c.status == "info_requested", 20, "live update"
    )
    await asyncio.sleep(1.0)
    page.verticalScrollBar().setValue(0)
    save(main, out / "claim-timeline.png")
