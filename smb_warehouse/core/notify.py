"""Where alerts go: the log by default, a webhook only when one is configured.

    SMB_ALERT_WEBHOOK_URL   POST target for alerts (JSON body); unset = log only (the default)
    SMB_ALERT_CHANNEL       "log" | "webhook"; defaults to "webhook" when a URL is set, else "log"

The URL comes only from the environment (it usually embeds a secret token), is never logged in full
and never stored in the warehouse. Delivery failures are reported, not raised: an unreachable chat
server must not fail the warehouse run that found the problem.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

LOG = logging.getLogger("smb.alerts")
WEBHOOK_ENV = "SMB_ALERT_WEBHOOK_URL"
CHANNEL_ENV = "SMB_ALERT_CHANNEL"
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Delivery:
    channel: str  # log | webhook
    target: str  # "log" or the webhook's scheme://host[:port] (never the path or token)
    delivered: bool
    n_alerts: int
    detail: str = ""


@dataclass(frozen=True)
class Notifier:
    channel: str = "log"
    webhook_url: str | None = None
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_env(cls) -> Notifier:
        url = os.environ.get(WEBHOOK_ENV) or None
        channel = os.environ.get(CHANNEL_ENV) or ("webhook" if url else "log")
        if channel not in ("log", "webhook"):
            raise ValueError(f"{CHANNEL_ENV} must be 'log' or 'webhook', not {channel!r}")
        if channel == "webhook" and not url:
            raise ValueError(f"{CHANNEL_ENV}=webhook needs {WEBHOOK_ENV}")
        return cls(channel=channel, webhook_url=url)

    def send(self, subject: str, alerts: Sequence[Mapping[str, Any]]) -> Delivery:
        """One message per call carrying every alert (a digest: a flood of posts helps nobody)."""
        if not alerts:
            return Delivery(self.channel, self._target(), True, 0, "nothing to send")
        for alert in alerts:
            LOG.warning("%s: %s", subject, json.dumps(alert, default=str, sort_keys=True))
        if self.channel == "log":
            return Delivery("log", "log", True, len(alerts))
        return self._post(subject, alerts)

    def _target(self) -> str:
        if self.channel == "log" or not self.webhook_url:
            return "log"
        parts = urlsplit(self.webhook_url)
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"

    def _post(self, subject: str, alerts: Sequence[Mapping[str, Any]]) -> Delivery:
        body = json.dumps({"text": f"{subject} ({len(alerts)} alert(s))", "subject": subject, "alerts": list(alerts)},
                          default=str).encode("utf-8")
        request = urllib.request.Request(str(self.webhook_url), data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                ok = 200 <= response.status < 300
                return Delivery("webhook", self._target(), ok, len(alerts), f"HTTP {response.status}")
        except (urllib.error.URLError, OSError) as exc:
            LOG.error("alert webhook %s failed: %s", self._target(), exc)
            return Delivery("webhook", self._target(), False, len(alerts), type(exc).__name__)
