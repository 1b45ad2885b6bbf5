"""A chaos report opens in headless Chromium, offline, with its charts and no console error."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.browser import render_page
from chaos.report import write_report
from chaos.runner import Runner
from tests.unit.test_chaos_runner import experiment, make_world

pytestmark = pytest.mark.integration


def test_a_report_renders_in_headless_chromium_with_every_chart_and_no_console_error(tmp_path: Path) -> None:
    record = Runner(experiment(), make_world().deps).run()
    index = write_report(tmp_path, record, settings={}, versions={})

    result = render_page(index)

    assert result.rendered, result.dom[:500]
    assert result.charts == 2 + 3 * len(record.profiles)
    assert result.dom.count('class="fault-window"') >= 2
    assert 'id="hypothesis"' in result.dom and "success_ratio@fault" in result.dom
    assert result.console == ()


def test_the_browser_check_sees_a_console_error_when_there_is_one(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('boom'); missingFunction();</script></body></html>")
    result = render_page(page)
    assert any("boom" in line for line in result.console)
    assert any("missingFunction" in line for line in result.console)
    assert not result.rendered
