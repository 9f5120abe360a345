"""Delivery of a run's OpenLineage events to a lineage server, beside the events file.

The events file (``run_dir/lineage/events.jsonl``, hash-chained in the run log) is always the
record. A :class:`LineageSender` additionally hands each event, as the same JSON, to a
transport: openlineage-python's transports (HTTP, Kafka, file, composite...) configured the
standard way (``openlineage.yml`` in the working directory or ``~/.openlineage``, the
``OPENLINEAGE_CONFIG`` file, ``OPENLINEAGE_URL`` / ``OPENLINEAGE_API_KEY`` /
``OPENLINEAGE_ENDPOINT``, or ``OPENLINEAGE__TRANSPORT__*`` variables), or any callable.

Delivery never fails and never blocks a run: events are queued to one background thread that
tries each event a few times with a short back-off; :meth:`LineageSender.close` waits at most
``close_timeout`` seconds and returns a :class:`DeliveryReport` saying what was delivered. A
failed send is logged (never with the event body or a credential) and reported; the file stays
the record. ``OPENLINEAGE_DISABLED=true`` turns delivery off.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DeliveryReport",
    "LineageSender",
    "openlineage_configured",
    "sender_from_environment",
]

log = logging.getLogger(__name__)

Send = Callable[[Mapping[str, Any]], None]
"""Delivers one event (a JSON object); raises on failure."""

_STOP = object()


@dataclass(frozen=True)
class DeliveryReport:
    """What a sender delivered: counts, where to, and the last error (its type and a short
    message without the event body)."""

    target: str
    queued: int
    delivered: int
    failed: int
    pending: int
    last_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.delivered == self.queued

    def describe(self) -> str:
        if self.ok:
            return f"OpenLineage: {self.delivered} event(s) delivered to {self.target}"
        what = (
            f"OpenLineage: {self.delivered} of {self.queued} event(s) delivered to "
            f"{self.target} ({self.failed} failed, {self.pending} not sent in time)"
        )
        if self.last_error:
            what += f": {self.last_error}"
        return what + "; the run's events.jsonl is the record"


@dataclass
class _Counts:
    queued: int = 0
    delivered: int = 0
    failed: int = 0
    last_error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class LineageSender:
    """Sends events in the background; see the module docstring.

    ``send`` delivers one event or raises; ``target`` names the destination in reports (never a
    credential); each event is tried ``attempts`` times with ``backoff`` seconds doubling
    between tries.
    """

    def __init__(
        self,
        send: Send,
        *,
        target: str,
        attempts: int = 3,
        backoff: float = 0.2,
        close_timeout: float = 10.0,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._send = send
        self.target = target
        self.attempts = attempts
        self.backoff = backoff
        self.close_timeout = close_timeout
        self._queue: queue.Queue[object] = queue.Queue()
        self._counts = _Counts()
        self._thread = threading.Thread(target=self._work, name="openlineage-sender", daemon=True)
        self._thread.start()
        self._closed = False

    def __repr__(self) -> str:
        return f"LineageSender(target={self.target!r})"

    def submit(self, event: Mapping[str, Any]) -> None:
        """Queue one event (a copy is taken); returns at once."""
        if self._closed:
            raise RuntimeError("the sender is closed")
        with self._counts.lock:
            self._counts.queued += 1
        self._queue.put(json.loads(json.dumps(event)))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, dict):
                self._deliver(item)

    def _deliver(self, event: dict[str, Any]) -> None:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                self._send(event)
            except Exception as e:  # any transport error: logged and reported, never raised
                error = _short_error(e)
                log.warning(
                    "OpenLineage %s event not delivered to %s (attempt %d of %d): %s",
                    event.get("eventType", "?"),
                    self.target,
                    attempt,
                    self.attempts,
                    error,
                )
                if attempt < self.attempts:
                    time.sleep(delay)
                    delay *= 2
                    continue
                with self._counts.lock:
                    self._counts.failed += 1
                    self._counts.last_error = error
                return
            with self._counts.lock:
                self._counts.delivered += 1
            return

    def close(self, timeout: float | None = None) -> DeliveryReport:
        """Stop accepting events, wait at most ``timeout`` (default ``close_timeout``) seconds
        for the queue to drain, and report."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(self.close_timeout if timeout is None else timeout)
        with self._counts.lock:
            c = self._counts
            done = c.delivered + c.failed
            return DeliveryReport(
                target=self.target,
                queued=c.queued,
                delivered=c.delivered,
                failed=c.failed,
                pending=c.queued - done,
                last_error=c.last_error,
            )


def _short_error(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__


def openlineage_configured(environ: Mapping[str, str] | None = None) -> bool:
    """True when openlineage-python's standard configuration names a transport: an
    ``OPENLINEAGE_URL``, ``OPENLINEAGE_CONFIG``, ``OPENLINEAGE__TRANSPORT...`` variable, or an
    ``openlineage.yml`` in the working directory or ``~/.openlineage``; and delivery is not
    disabled with ``OPENLINEAGE_DISABLED=true``."""
    env = os.environ if environ is None else environ
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OPENLINEAGE_URL") or env.get("OPENLINEAGE_CONFIG"):
        return True
    if any(k.startswith("OPENLINEAGE__TRANSPORT") for k in env):
        return True
    places = [Path.cwd() / "openlineage.yml", Path.home() / ".openlineage" / "openlineage.yml"]
    return any(p.is_file() for p in places)


def sender_from_environment(
    *, close_timeout: float = 10.0, attempts: int = 1
) -> LineageSender | None:
    """A sender over openlineage-python's configured transport, or ``None`` when no transport
    is configured (the events file alone is then the output, as by default).

    The transport's own retry settings apply (the HTTP transport retries with back-off, as its
    ``retry`` option says), so each event is handed to it ``attempts`` times (default once).
    Raises :class:`~privacy_profile.errors.PrivacyProfileError` when a transport is configured
    but openlineage-python is not installed (configured delivery is never silently dropped)."""
    if not openlineage_configured():
        return None
    try:
        from openlineage.client import OpenLineageClient
    except ImportError:
        from privacy_profile.errors import PrivacyProfileError

        raise PrivacyProfileError(
            "an OpenLineage transport is configured (OPENLINEAGE_* variables or openlineage.yml) "
            "but openlineage-python is not installed",
            hint="pip install 'privacy_profile[openlineage]', or unset the OpenLineage settings",
        ) from None
    # typed for the client's event classes; its transports serialize with Serde.to_json, which
    # also takes a plain JSON object, so our events go out exactly as the file records them
    transport: Any = OpenLineageClient().transport
    kind = str(getattr(transport, "kind", "") or "")
    if kind in ("noop", "console"):
        return None
    target = _describe_transport(transport, kind)

    def send(event: Mapping[str, Any]) -> None:
        transport.emit(dict(event))

    return LineageSender(send, target=target, attempts=attempts, close_timeout=close_timeout)


def _describe_transport(transport: Any, kind: str) -> str:
    url = getattr(transport, "url", None)
    if isinstance(url, str) and url:
        # scheme://host[:port]/path only: user info and query strings may carry credentials
        from urllib.parse import urlsplit

        u = urlsplit(url)
        host = u.hostname or ""
        port = f":{u.port}" if u.port else ""
        endpoint = str(getattr(transport, "endpoint", "") or "")
        return f"{kind} {u.scheme}://{host}{port}{u.path.rstrip('/')}/{endpoint.lstrip('/')}"
    return kind or type(transport).__name__
