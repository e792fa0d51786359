"""The embedded default is a child process the app owns (issue 15): the real `portal run` path.

No in-process EmbeddedService here: the app starts `python -m portal_app.service_process` itself,
and these tests kill that child (and the app) with SIGKILL the way a crash would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from portal_app.client import LiveState
from portal_app.service_process import LAUNCH_KEY_HEADER, ServiceProcess
from tests.ui.conftest import PASSWORD, wait_until
from tests.ui.test_desktop import ALEX, sign_in, wait_for_overview
from ui.app import PortalApp

ROOT = Path(__file__).resolve().parents[2]
AGENT = "agent@portal.example"


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting for a reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _agent_views(url: str, service: ServiceProcess, account_id: str) -> None:
    """An agent opens the account: one `account.viewed` event on its feed."""
    with httpx.Client(base_url=f"{url}/api/v1", timeout=30, headers=service.headers) as agent:
        tokens = agent.post("/auth/sign-in", json={"email": AGENT, "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert agent.get(f"/accounts/{account_id}", headers=auth).status_code == 200


def test_the_service_is_a_child_process_that_answers_only_this_launch(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    # Given `portal run`'s controller with no server: the embedded default
    # (other tests' fixtures may host services in threads of this process: count only new ones)
    threads_before = set(threading.enumerate())
    app: PortalApp = make_app(None, tmp_path)
    sign_in(qtbot, app, ALEX, PASSWORD)
    wait_for_overview(qtbot, app, timeout=90_000)
    service = app.service
    assert service is not None and service.pid is not None and service.url is not None
    # Then the service runs in a process of its own, a child of this one, not in a thread here
    assert service.pid != os.getpid() and _alive(service.pid)
    assert service.pid in _children(os.getpid())
    assert "portal_app.service_process" in _cmdline(service.pid)
    assert not [t.name for t in set(threading.enumerate()) - threads_before if "portal-embedded" in t.name]
    # And without this launch's key the service refuses, with a coded problem
    refused = httpx.get(f"{service.url}/api/v1/health", timeout=30)
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.launch_key_invalid"
    wrong = httpx.get(f"{service.url}/api/v1/health", headers={LAUNCH_KEY_HEADER: "guess"}, timeout=30)
    assert wrong.status_code == 403
    assert httpx.get(f"{service.url}/api/v1/health", headers=service.headers, timeout=30).status_code == 200
    # And the key is in no file of the data directory (the log included)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert service.launch_key.encode() not in path.read_bytes(), path
    assert (tmp_path / "service.log").exists()


def test_a_killed_service_is_restarted_and_the_feed_loses_no_event(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    # Given Alex watching Activity in the embedded default
    app: PortalApp = make_app(None, tmp_path)
    sign_in(qtbot, app, ALEX, PASSWORD)
    view = wait_for_overview(qtbot, app, timeout=90_000)
    view.show_page("activity")
    wait_until(qtbot, lambda: view.feed_state is LiveState.LIVE)
    delivered: list[int] = []
    view.eventsArrived.connect(lambda events: delivered.extend(e.seq for e in events))
    model = view.activity_page.model
    service = app.service
    assert service is not None and service.url is not None
    downs: list[bool] = []
    app.serviceDown.connect(lambda: downs.append(True))
    ups: list[str] = []
    app.serviceUp.connect(ups.append)
    before = model.last_seq
    _agent_views(service.url, service, view.account_id)
    wait_until(qtbot, lambda: model.last_seq > before)

    # When the service process dies without warning
    old_pid = service.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)

    # Then the app says it is reconnecting, and restarts the service by itself
    wait_until(qtbot, lambda: bool(downs), timeout=15_000)
    main = app.main_window
    assert main is not None
    assert "reconnecting" in main.statusBar().currentMessage()
    wait_until(qtbot, lambda: main.feed_indicator.property("state") in {"reconnecting", "offline"})
    wait_until(qtbot, lambda: bool(ups), timeout=120_000)
    assert service.pid != old_pid and service.running() and service.restarts == 1
    assert ups == [service.url]
    # And changes made right after the restart reach the feed, which resumes on its own
    last_before_restart = model.last_seq
    _agent_views(service.url, service, view.account_id)
    _agent_views(service.url, service, view.account_id)
    wait_until(qtbot, lambda: view.feed_state is LiveState.LIVE, timeout=60_000)
    with httpx.Client(base_url=f"{service.url}/api/v1", timeout=30, headers=service.headers) as agent:
        tokens = agent.post("/auth/sign-in", json={"email": AGENT, "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        page = agent.get(f"/accounts/{view.account_id}/events", params={"limit": 500}, headers=auth).json()
    assert not page["has_more"]
    api_seqs = [e["seq"] for e in page["events"]]
    wait_until(qtbot, lambda: model.last_seq >= api_seqs[-1])
    after = [
        e["seq"] for e in page["events"] if e["seq"] > last_before_restart and e["action"] == "account.viewed"
    ]
    assert len(after) >= 2
    # Every event exactly once: nothing delivered twice, nothing missing from Activity
    assert len(delivered) == len(set(delivered))
    assert set(after) <= set(delivered)
    # (Activity groups notice deliveries under their cause, so compare every event it holds.)
    assert [seq for seq in model.held_seqs() if seq <= api_seqs[-1]] == api_seqs


def test_killing_the_app_leaves_no_service_behind(tmp_path: Path) -> None:
    # Given `portal run` as a real process (offscreen, no keyring) with its embedded service
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "portal_app.cli", "run", "--data-dir", str(tmp_path)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so the test can be sure to clean up whatever is left
    )
    service_pid = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and service_pid is None:
            time.sleep(0.2)
            for pid in _children(app.pid):
                if "portal_app.service_process" in _cmdline(pid):
                    service_pid = pid
        assert service_pid is not None, "portal run started no service child"
        # Wait until it serves (so the kill lands on a fully started service)
        log = tmp_path / "service.log"
        while time.monotonic() < deadline and "serving http" not in (log.read_text() if log.exists() else ""):
            time.sleep(0.2)
        assert "serving http" in log.read_text()

        # When the app is killed outright
        app.send_signal(signal.SIGKILL)
        app.wait(10)

        # Then the service notices the closed lifetime pipe and exits within seconds
        gone_by = time.monotonic() + 20
        while time.monotonic() < gone_by and _alive(service_pid):
            time.sleep(0.1)
        assert not _alive(service_pid), "the service outlived the app"
    finally:
        if app.poll() is None:
            app.kill()
        if service_pid is not None and _alive(service_pid):
            os.kill(service_pid, signal.SIGKILL)


def test_a_service_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    # Given a data directory whose database path is a directory: the child cannot open it
    (tmp_path / "portal.sqlite3").mkdir()
    service = ServiceProcess(tmp_path)
    service.spawn()
    try:
        # Then start-up fails promptly with the reason from the log, rather than hanging
        try:
            service.wait_ready(timeout=120)
        except RuntimeError as exc:
            assert "stopped while starting" in str(exc)
            assert "sqlite" in str(exc).lower()
        else:
            raise AssertionError("a service without a database reported ready")
    finally:
        service.stop()
