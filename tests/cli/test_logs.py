"""Log lines as JSON, with the host's extra fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from beehive.logs import AZURE_HTTP, JsonFormatter, configure


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def record(**extra: object) -> logging.LogRecord:
    logger = logging.getLogger("beehive.host")
    return logger.makeRecord(
        "beehive.host", logging.INFO, __file__, 1, "handled %s", ("o-1",), None, extra=extra
    )


def test_a_record_is_one_json_object_with_its_extra_fields() -> None:
    line = JsonFormatter().format(
        record(actor="PaymentActor@OrderAccepted-Payment", outcome="succeeded", duration_ms=1.5)
    )

    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "INFO"
    assert entry["logger"] == "beehive.host"
    assert entry["message"] == "handled o-1"
    assert entry["actor"] == "PaymentActor@OrderAccepted-Payment"
    assert entry["outcome"] == "succeeded"
    assert entry["duration_ms"] == 1.5
    assert entry["time"].endswith("+00:00")
    assert "args" not in entry
    assert "msg" not in entry


def test_an_exception_travels_in_the_same_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        line = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), __import__("sys").exc_info()
        )

    entry = json.loads(JsonFormatter().format(line))
    assert entry["exception"].startswith("Traceback")
    assert "ValueError: boom" in entry["exception"]


@pytest.mark.usefixtures("restore_root_logger")
def test_configure_replaces_handlers_and_sets_the_level() -> None:
    stream = io.StringIO()
    configure("json", "warning", stream)
    configure("json", "warning", stream)

    logging.getLogger("beehive.host").info("hidden")
    logging.getLogger("beehive.host").warning("shown", extra={"actor": "A@B"})

    (line,) = stream.getvalue().splitlines()
    assert json.loads(line)["actor"] == "A@B"


@pytest.mark.usefixtures("restore_root_logger")
def test_text_is_for_people() -> None:
    stream = io.StringIO()
    configure("text", "INFO", stream)

    logging.getLogger("beehive.host").info("hello")

    assert stream.getvalue().rstrip().endswith("INFO    beehive.host: hello")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log format 'xml'; choose one of text, json"):
        configure("xml")


@pytest.mark.usefixtures("restore_root_logger")
@pytest.mark.parametrize(("level", "shown"), [("info", False), ("warning", False), ("DEBUG", True)])
def test_the_azure_sdks_http_lines_show_only_at_debug(level: str, shown: bool) -> None:
    stream = io.StringIO()
    configure("text", level, stream)

    logging.getLogger(AZURE_HTTP).info("Request URL: 'https://x.table.core.windows.net/'")

    assert ("Request URL" in stream.getvalue()) is shown


def test_an_unknown_level_lists_the_levels() -> None:
    with pytest.raises(ValueError, match="choose one of debug, info, warning, error"):
        configure("text", "LOUD")
