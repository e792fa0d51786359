"""Claim photo upload figures (prints; never asserts).

    .venv/bin/python bench/uploads.py [--photos 4] [--mb 25] [--runs 3] [--s3]

The service runs in a child process (the real app: uvicorn on loopback, SQLite, demo data), so
its resident memory is its own. The bench process writes N JPEG photos of about `--mb` MB each,
then, in the same run:
  1. raw copy: the same files sent at once over N plain TCP connections on loopback to a sink
     that writes them to a temp file (no HTTP, no hashing, no checks): the floor to compare with;
  2. uploads: the same files at once through PortalClient.upload_claim_photo (streamed, chunked
     reads) to one claim; the service streams each to disk while hashing, checks it with Pillow,
     writes the display rendition and records it.
With `--s3` the service keeps the photos in an S3 bucket (moto's S3 server, started here in its own
process on loopback) instead of the data directory, as a deployment with PORTAL_BLOB_URL does.
Figures: MB/s for both (total bytes / wall time until the last byte was stored, or the last
201 came back), the ratio, and the service's RSS before and at its peak (sampled every 10 ms
from /proc) while the uploads run.
Targets from issue 6: uploads >= 0.5 x the raw copy; service RSS grows by <= 50 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "portal-demo-2026"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _serve(data_dir: str, blob_url: str, ready: multiprocessing.Queue, stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    """Child process: the real service on loopback until told to stop."""
    from portal_app.embedded import EmbeddedService
    from services.config import ServiceSettings

    service = EmbeddedService(ServiceSettings(data_dir=Path(data_dir), blob_url=blob_url), seed_demo=True)
    ready.put(service.start())
    stop.wait()
    service.stop()


def make_photo(path: Path, target_mb: float) -> int:
    """A JPEG of about target_mb: a scene with sensor-like grain, as a phone's best mode writes."""
    from PIL import Image, ImageDraw

    width, height = 6000, 4500
    scene = Image.new("RGB", (width, height), (90, 110, 130))
    draw = ImageDraw.Draw(scene)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(60, 60, 64))
    draw.rounded_rectangle(
        (width // 5, height // 3, width * 4 // 5, height * 3 // 4), radius=200, fill=(190, 50, 40)
    )
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    quality = 96
    while True:
        buffer = io.BytesIO()
        Image.blend(scene, noise, 0.45).save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= target_mb * 1_000_000 * 1.08 or quality <= 60:
            break
        quality -= 3
    path.write_bytes(buffer.getvalue())
    return buffer.tell()


# --- raw loopback copy ---------------------------------------------------------------------------


def raw_copy(paths: list[Path], folder: Path) -> float:
    """Seconds to push every file at once over its own loopback TCP connection into a file."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    done = threading.Barrier(len(paths) + 1)

    def sink(index: int) -> None:
        conn, _ = server.accept()
        with conn, (folder / f"raw-{index}").open("wb") as out:
            while True:
                data = conn.recv(1 << 20)
                if not data:
                    break
                out.write(data)
        done.wait()

    def source(path: Path) -> None:
        with socket.create_connection(("127.0.0.1", port)) as conn, path.open("rb") as fh:
            conn.sendfile(fh)

    sinks = [threading.Thread(target=sink, args=(i,)) for i in range(len(paths))]
    for t in sinks:
        t.start()
    started = time.perf_counter()
    sources = [threading.Thread(target=source, args=(p,)) for p in paths]
    for t in sources:
        t.start()
    done.wait()
    elapsed = time.perf_counter() - started
    for t in sources + sinks:
        t.join()
    server.close()
    for i in range(len(paths)):
        (folder / f"raw-{i}").unlink()
    return elapsed


# --- uploads through the product -----------------------------------------------------------------


class Rss:
    """Samples a process's resident memory every 10 ms from a thread, keeping the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline = _rss_mb(pid)
        self.peak = self.baseline
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while self._running.is_set():
            self.peak = max(self.peak, _rss_mb(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> Rss:
        self._running.set()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._running.clear()
        self._thread.join()


async def uploads(base_url: str, paths: list[Path], pid: int, runs: int) -> tuple[list[float], list[Rss]]:
    """Sign in once (argon2 costs 64 MB of its own: kept out of the memory figure), file a
    claim, warm up with one photo, then upload all photos at once `runs` times."""
    from datetime import UTC, datetime, timedelta

    from portal_app.client import PortalClient

    client = PortalClient(base_url)
    try:
        await client.sign_in("alex.morgan@example.com", PASSWORD)
        account = client.user.accounts[0].id  # type: ignore[union-attr]
        overview = await client.account(account)
        policy = next(p for p in overview.policies if p.product_line == "auto")
        claim = await client.file_claim(
            account_id=account,
            policy_id=policy.id,
            loss_type="collision",
            loss_at=(datetime.now(UTC) - timedelta(hours=2)).isoformat(),
            location="Bench Street",
            description="Benchmark claim for photo uploads.",
            vehicle="Bench vehicle",
        )
        # Warm-up: imports (Pillow, pillow-heif), the first decode, connection pools.
        await client.upload_claim_photo(claim.id, paths[0])
        await asyncio.sleep(2.0)
        times, memory = [], []
        for _ in range(runs):
            with Rss(pid) as rss:
                started = time.perf_counter()
                await asyncio.gather(*(client.upload_claim_photo(claim.id, p) for p in paths))
                times.append(time.perf_counter() - started)
                await asyncio.sleep(2.0)  # the display renditions finish in the background: count them
            memory.append(rss)
        return times, memory
    finally:
        await client.aclose()


def start_s3() -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3 server in its own process on a free loopback port, with one bucket; the blob URL."""
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    deadline = time.monotonic() + 30
    while True:
        try:
            client.create_bucket(Bucket="portal-bench")
            break
        except Exception:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.2)
    return proc, f"s3://portal-bench?endpoint={endpoint}&region=us-east-1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--mb", type=float, default=25.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="keep photos in moto's S3 server, not the data dir")
    args = parser.parse_args(argv)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine load (1/5/15 min): {load} on {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory(prefix="portal-bench-uploads-") as tmp:
        folder = Path(tmp)
        photos = []
        for i in range(args.photos):
            path = folder / f"photo-{i}.jpg"
            make_photo(path, args.mb)
            photos.append(path)
        total = sum(p.stat().st_size for p in photos)
        print(f"photos: {len(photos)} x ~{total / len(photos) / 1e6:.1f} MB = {total / 1e6:.1f} MB (JPEG)")

        s3, blob_url = start_s3() if args.s3 else (None, "")
        print(f"photos kept in: {'S3 (moto server on loopback)' if s3 else 'the data directory'}")
        ctx = multiprocessing.get_context("spawn")
        ready: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
        stop = ctx.Event()
        child = ctx.Process(target=_serve, args=(str(folder / "service"), blob_url, ready, stop), daemon=True)
        child.start()
        base_url = ready.get(timeout=300)
        assert child.pid is not None
        try:
            raw_times = [raw_copy(photos, folder) for _ in range(args.runs)]
            up_times, memory = asyncio.run(uploads(base_url, photos, child.pid, args.runs))
            raw_times += [raw_copy(photos, folder) for _ in range(args.runs)]  # before and after
        finally:
            stop.set()
            child.join(30)
            if s3 is not None:
                s3.terminate()
                s3.wait(10)

    mb = total / 1e6
    raw = mb / statistics.median(raw_times)
    up = mb / statistics.median(up_times)
    growth = max(m.peak - m.baseline for m in memory)
    print(f"raw loopback copy : {raw:8.1f} MB/s  ({len(photos)} streams at once; median of {len(raw_times)})")
    print(
        f"claim uploads     : {up:8.1f} MB/s  ({len(photos)} at once, to the last 201; median of {args.runs})"
    )
    print(f"ratio             : {up / raw:8.2f} x raw   (target >= 0.5)")
    print(f"machine load after: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"service RSS       : {memory[0].baseline:.0f} MB before, "
        f"{max(m.peak for m in memory):.0f} MB peak; growth {growth:.1f} MB at most (target <= 50)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
