"""Delivery of events to a lineage server: a local HTTP receiver started by the test validates
every event it gets against the OpenLineage schema and the privacy facet's schema; a down
endpoint never fails or blocks the run, and the events file stays the record."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from _lineage_helpers import facet_for_run, inputs, outputs
from _support.ol_receiver import Receiver

from privacy_profile.errors import PrivacyProfileError
from privacy_profile.ingest import IdentifierIndex
from privacy_profile.lineage import LineageRecorder, ReleaseGuard, read_events
from privacy_profile.lineage.transport import (
    LineageSender,
    openlineage_configured,
    sender_from_environment,
)

RUN_ID = "01900000-0000-7000-8000-0000000000bb"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No OpenLineage configuration from the machine: no variables, no openlineage.yml."""
    import os

    for k in list(os.environ):
        if k.startswith("OPENLINEAGE"):
            monkeypatch.delenv(k)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


def _run(tmp_path: Path, sender: LineageSender | None) -> Path:
    rec = LineageRecorder(
        tmp_path / "runs" / RUN_ID,
        job_namespace="privacy_profile",
        job_name="test.sanitize_then_segment",
        checker=ReleaseGuard(IdentifierIndex()),
        sender=sender,
    )
    rec.start(RUN_ID, inputs())
    outs, lineage = outputs()
    rec.complete(outs, lineage, facet_for_run())
    return rec.events_path


def test_not_configured_means_file_only(clean_env: Path) -> None:
    assert not openlineage_configured()
    assert sender_from_environment() is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPENLINEAGE_URL": "http://127.0.0.1:1"}, True),
        ({"OPENLINEAGE_CONFIG": "/x/openlineage.yml"}, True),
        ({"OPENLINEAGE__TRANSPORT__TYPE": "http"}, True),
        ({"OPENLINEAGE_URL": "http://127.0.0.1:1", "OPENLINEAGE_DISABLED": "true"}, False),
        ({"OPENLINEAGE_ENDPOINT": "api/v1/lineage"}, False),
    ],
)
def test_configuration_is_the_standard_one(
    clean_env: Path, env: dict[str, str], expected: bool
) -> None:
    assert openlineage_configured(env) is expected


def test_openlineage_yml_in_the_working_directory_configures(clean_env: Path) -> None:
    (clean_env / "openlineage.yml").write_text("transport:\n  type: console\n")
    assert openlineage_configured()
    assert sender_from_environment() is None  # console: nothing to deliver to


def test_http_transport_delivers_start_and_complete(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Receiver() as rx:
        monkeypatch.setenv("OPENLINEAGE_URL", rx.url)
        sender = sender_from_environment()
        assert sender is not None
        events_path = _run(tmp_path, sender)
        report = sender.close()
    assert rx.invalid == []
    assert [e["eventType"] for e in rx.events] == ["START", "COMPLETE"]
    assert rx.paths == ["/api/v1/lineage", "/api/v1/lineage"]
    assert report.ok and report.delivered == 2 and report.queued == 2
    # what the server got is what the file records, event for event
    assert rx.events == read_events(events_path)
    assert "2 event(s) delivered" in report.describe()
    assert rx.url.split("//")[1] in report.target


def test_down_endpoint_never_fails_or_blocks_the_run(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the standard variables, with the transport's own retries off to keep the test short
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY", '{"total": 0}')
    sender = sender_from_environment(attempts=2)
    assert sender is not None
    t0 = time.monotonic()
    events_path = _run(tmp_path, sender)
    emitted = time.monotonic() - t0
    report = sender.close(timeout=20)
    assert emitted < 1.0  # queued, not sent inline (generous bound: it is a few ms)
    assert [e["eventType"] for e in read_events(events_path)] == ["START", "COMPLETE"]
    assert not report.ok
    assert report.delivered == 0 and report.failed == 2 and report.pending == 0, report
    text = report.describe()
    assert "0 of 2 event(s) delivered" in text and "events.jsonl is the record" in text
    assert report.last_error is not None and "Connection" in report.last_error


def test_sender_retries_then_delivers() -> None:
    calls: list[str] = []

    def flaky(event: Any) -> None:
        calls.append(event["eventType"])
        if len(calls) < 3:
            raise OSError("connection reset")

    sender = LineageSender(flaky, target="test", attempts=3, backoff=0.001)
    sender.submit({"eventType": "START"})
    report = sender.close()
    assert calls == ["START"] * 3
    assert report.ok and report.delivered == 1 and report.failed == 0


def test_sender_gives_up_after_its_attempts_and_reports_without_the_body() -> None:
    def down(event: Any) -> None:
        raise ConnectionError("refused by 127.0.0.1")

    sender = LineageSender(down, target="test", attempts=2, backoff=0.001)
    sender.submit({"eventType": "START", "secret-looking": "13912345678"})
    report = sender.close()
    assert report.failed == 1 and report.delivered == 0
    assert report.last_error == "ConnectionError: refused by 127.0.0.1"
    assert "13912345678" not in report.describe()


def test_sender_refuses_events_after_close() -> None:
    sender = LineageSender(lambda e: None, target="test")
    sender.close()
    with pytest.raises(RuntimeError):
        sender.submit({"eventType": "START"})


def test_sender_rejects_nonsense_attempts() -> None:
    with pytest.raises(ValueError):
        LineageSender(lambda e: None, target="test", attempts=0)


def test_credentials_in_the_url_are_not_reported(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", "http://user:s3cret@127.0.0.1:9/base?token=abc")
    sender = sender_from_environment()
    assert sender is not None
    sender.close(timeout=0)
    assert "s3cret" not in sender.target and "token" not in sender.target
    assert sender.target.startswith("http http://127.0.0.1:9/base/")


def test_missing_openlineage_package_is_a_clear_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_openlineage(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("openlineage"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(builtins, "__import__", no_openlineage)
    with pytest.raises(PrivacyProfileError, match="openlineage-python is not installed"):
        sender_from_environment()
