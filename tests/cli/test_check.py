"""``beehive check``: one line per problem, naming the file, the actor and the topic."""

from __future__ import annotations

from pathlib import Path

import pytest

from beehive.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["check", *args])
    return code, capsys.readouterr().out.splitlines()


def test_prismo_has_no_problem(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "samples.prismo.actors")

    assert (code, lines) == (0, ["0 errors, 0 warnings"])


def test_a_misspelt_topic_is_an_error_that_suggests_the_emitted_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = run(capsys, "tests.networks.misspelt")

    assert code == 1
    assert (
        "tests/networks/misspelt.py:31: error: CancelOrderActor@FrauCheckFailed-CancelOrder "
        "reads FrauCheckFailed, which no actor emits and no ExternalEvents declares as an "
        "input; did you mean FraudCheckFailed?"
    ) in lines
    # and the event the canceller meant to read is now read by nobody
    assert (
        "tests/networks/misspelt.py:25: warning: FraudCheckActor@OrderAccepted-FraudCheck emits "
        "FraudCheckFailed, which no actor reads and no ExternalEvents declares as an output"
    ) in lines
    assert lines[-1] == "1 error, 1 warning"


def test_an_event_nobody_reads_is_only_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "tests.networks.unread")

    assert code == 0
    assert lines == [
        "tests/networks/unread.py:10: warning: LedgerActor@Paid-Ledger emits Audited, which no "
        "actor reads and no ExternalEvents declares as an output",
        "0 errors, 1 warning",
    ]


def test_two_actors_on_one_subscription_and_mixed_sessions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = run(capsys, "tests.networks.shared")

    assert code == 1
    assert lines == [
        "tests/networks/shared.py:17: error: ReceiptActor@Paid-Email and ThankYouActor@Paid-Email "
        "read Paid-Email with different max_deliveries; one subscription has one set of settings",
        "tests/networks/shared.py:17: error: ReceiptActor@Paid-Email, ThankYouActor@Paid-Email "
        "read one subscription Paid-Email: each message reaches only one of them; give each "
        "actor its own subscription",
        "tests/networks/shared.py:29: warning: SmsActor@Shipped-Sms reads Shipped without "
        "sessions while Shipped-Ledger requires them: events of one session reach it in any "
        "order",
        "2 errors, 1 warning",
    ]


def test_mixed_sessions_are_an_error_where_they_break_a_reader_s_ordering(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = run(capsys, "tests.networks.ordering")

    assert code == 1
    assert lines == [
        "tests/networks/ordering.py:19: error: ProjectorActor@AccountChanged-Projector reads "
        "AccountChanged without sessions while AccountChanged-Statement requires them, and "
        "emits BalanceMoved, which LedgerActor@BalanceMoved-Ledger reads with sessions: the "
        "order of AccountChanged's sessions is lost on the way",
        "tests/networks/ordering.py:31: warning: AuditActor@AccountChanged-Audit reads "
        "AccountChanged without sessions while AccountChanged-Statement requires them: events "
        "of one session reach it in any order",
        "1 error, 1 warning",
    ]


def test_names_and_settings_service_bus_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "tests.networks.refused")

    assert code == 1
    assert all(line.startswith("tests/networks/refused.py:") for line in lines[:-1])
    errors = [line.split(": error: ", 1)[1] for line in lines if ": error: " in line]
    long_name = "LongNameActor@Paid-ASubscriptionNameMuchLongerThanFiftyCharactersIsRefused"
    assert errors == [
        f"{long_name} emits: topic name 'Done_' must start and end with a letter or digit on "
        "Service Bus",
        f"{long_name}: subscription name 'ASubscriptionNameMuchLongerThanFiftyCharactersIsRefused'"
        " has 55 characters; Service Bus allows at most 50",
        "SlowActor@paid-Slow: Paid and paid differ only in case: Service Bus takes them for one "
        "entity",
        "SlowActor@paid-Slow: lease_seconds 600 is outside the lock durations Service Bus allows "
        "(5 to 300 s); longer work is covered by lease renewal (max_lease_seconds)",
        "SlowActor@paid-Slow: max_deliveries 5000 is more than Service Bus allows (2000)",
    ]


def test_rabbitmq_takes_what_service_bus_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "tests.networks.refused", "--broker", "rabbitmq")

    assert code == 0
    assert lines[-1] == "0 errors, 1 warning"


def test_an_unknown_broker_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "tests.networks.unread", "--broker", "kafka"]) == 2
    assert capsys.readouterr().err == (
        "beehive: error: unknown broker 'kafka'; choose one of servicebus, rabbitmq, memory\n"
    )


def test_every_line_names_the_file_and_the_actor(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names only declared as external clash with nothing the network makes: no line without
    an actor to fix."""
    (tmp_path / "clash_app.py").write_text(
        "from beehive import Event, ExternalEvents, actor\n"
        "external = ExternalEvents(inputs=['Jobs', 'Refund'], outputs=['jobs', 'refund'])\n"
        "@actor('Jobs-Work')\n"
        "class Worker:\n"
        "    async def process(self, event: Event) -> list[Event]:\n"
        "        return []\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)

    code, lines = run(capsys, "clash_app")

    assert (code, lines) == (
        1,
        [
            "clash_app.py:3: error: Worker@Jobs-Work: Jobs and jobs differ only in case: "
            "Service Bus takes them for one entity",
            "1 error, 0 warnings",
        ],
    )
