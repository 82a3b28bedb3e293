"""The HTML reports server `make ui` starts (smb_warehouse.core.reports.serve) and the URLs the ML workflows
link to: files under the reports folder only, no listings, no way out of the folder."""
from __future__ import annotations

import os
import urllib.error
import urllib.request

import pytest

from smb_warehouse.core import reports
from smb_warehouse.core.config import environment
from tests.report_checks import _status


@pytest.fixture()
def served(tmp_path):
    """A data dir with one report, a secret beside the reports folder and a symlink to it inside; the server
    on a free port."""
    with environment({"SMB_DATA_DIR": str(tmp_path), "SMB_REPORTS_DIR": None, "SMB_REPORTS_URL": None,
                      "SMB_REPORTS_PORT": None}):
        report = reports.report_path("triage", "drift", "0123abcd-4567-89ab-cdef-0123456789ab")
        report.write_text("<html><body>evidently</body></html>")
        (tmp_path / "secret.txt").write_text("outside the reports folder")
        os.symlink(tmp_path / "secret.txt", report.parent / "escape.html")
        server = reports.serve(port=0)
        try:
            yield tmp_path, report, server
        finally:
            server.stop()


def test_a_report_url_is_the_file_under_the_base_and_is_served(served):
    root, report, server = served
    assert report.name == "drift_0123abcd.html"
    url = reports.report_url(report)
    assert url == "http://127.0.0.1:3001/triage/drift_0123abcd.html"
    assert reports.path_for_url(url) == report.resolve()
    with urllib.request.urlopen(server.url + "/triage/drift_0123abcd.html", timeout=10) as response:
        assert response.status == 200 and response.read() == report.read_bytes()
        assert response.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("raw", ["/../secret.txt", "/%2e%2e/secret.txt", "/triage/../../secret.txt",
                                 "/triage/%2E%2E/%2E%2E/secret.txt", "/..%2fsecret.txt", "/triage/escape.html",
                                 "//secret.txt", "/", "/triage/", "/triage", "/triage/missing.html"])
def test_nothing_outside_the_reports_folder_and_no_listing_is_served(served, raw):
    _, _, server = served
    assert _status(server.url, raw) == 404


def test_urls_follow_the_settings_and_refuse_files_outside_the_folder(tmp_path):
    with environment({"SMB_DATA_DIR": str(tmp_path), "SMB_REPORTS_DIR": None, "SMB_REPORTS_URL": None,
                      "SMB_REPORTS_PORT": "3999"}):
        report = reports.report_path("reconciliation", "match_quality", "run-not-a-uuid")
        assert reports.report_url(report).startswith("http://127.0.0.1:3999/reconciliation/match_quality_")
        with pytest.raises(ValueError, match="not under the reports folder"):
            reports.report_url(tmp_path / "elsewhere.html")
    with environment({"SMB_DATA_DIR": str(tmp_path), "SMB_REPORTS_URL": "https://reports.example.internal/smb/",
                      "SMB_REPORTS_PORT": None}):
        assert reports.report_url(report) == f"https://reports.example.internal/smb/reconciliation/{report.name}"
    with environment({"SMB_REPORTS_PORT": "http"}), pytest.raises(ValueError, match="SMB_REPORTS_PORT"):
        reports.base_url()
    with pytest.raises(ValueError, match="lower_snake_case"):
        reports.report_path("triage", "drift_0123abcd", "x")


def test_run_tags_are_eight_hex_digits_whatever_the_run_id():
    assert reports.run_tag("0123abcd-4567-89ab-cdef-0123456789ab") == "0123abcd"
    assert len(reports.run_tag("test-no-champion")) == 8
    assert reports.run_tag("test-no-champion") == reports.run_tag("test-no-champion") != reports.run_tag("other")
    assert all(c in "0123456789abcdef" for c in reports.run_tag("rollback-20250101T000000"))


def test_the_ui_command_serves_reports_until_dagster_dev_exits(tmp_path, monkeypatch):
    """`make ui` (orchestration.cli.run_ui): the reports server runs while dagster dev runs, and stops after."""
    from orchestration import cli

    seen = {}

    def fake_ui_command(port):
        # a child that asks the reports server for a report while it runs, as a browser on the UI would
        code = ("import sys, urllib.request;"
                f"r = urllib.request.urlopen('http://127.0.0.1:{seen['port']}/triage/drift_0123abcd.html', timeout=10);"
                "sys.exit(0 if r.status == 200 else 3)")
        return [cli.sys.executable, "-c", code]

    with environment({"SMB_DATA_DIR": str(tmp_path), "SMB_REPORTS_DIR": None, "SMB_REPORTS_URL": None}):
        reports.report_path("triage", "drift", "0123abcd-x").write_text("<html></html>")
        real_serve = reports.serve

        def spy_serve(root=None, port=None):
            server = real_serve(root, 0)
            seen["port"], seen["server"] = server.port, server
            return server

        monkeypatch.setattr(reports, "serve", spy_serve)
        monkeypatch.setattr(cli, "ui_command", fake_ui_command)
        assert cli.run_ui("3000") == 0
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{seen['port']}/triage/drift_0123abcd.html", timeout=2)


def test_a_failing_report_becomes_a_note_and_never_fails_the_workflow():
    def broken():
        raise ValueError("Evidently could not bin an empty column")

    ok = reports.ReportOutcome("drift", None, "too few rows")
    assert reports.guarded("drift", lambda: ok) is ok
    failed = reports.guarded("drift", broken)
    assert failed.path is None and failed.kind == "drift"
    assert "report failed (ValueError: Evidently could not bin an empty column)" in failed.note


def test_a_bad_reports_port_setting_degrades_the_links_and_never_fails_a_workflow(tmp_path):
    from orchestration.lib.report_links import report_links

    with environment({"SMB_DATA_DIR": str(tmp_path), "SMB_REPORTS_DIR": None, "SMB_REPORTS_URL": None,
                      "SMB_REPORTS_PORT": "not-a-port"}):
        report = reports.report_path("triage", "drift", "0123abcd-4567-89ab-cdef-0123456789ab")
        report.write_text("<html></html>")
        links = report_links("drift", report)
    assert links["drift_report_path"].value == str(report)
    assert links["drift_report"].value.startswith("no URL (SMB_REPORTS_PORT must be a port number")
