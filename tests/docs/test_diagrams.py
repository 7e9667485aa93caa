"""A diagram in the docs is what ``beehive graph`` draws from the code it names."""

from __future__ import annotations

import pytest

from beehive.cli import main
from tests.docs.test_examples import DOCS, blocks


def test_the_prismo_page_shows_the_network_beehive_graph_draws(
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = DOCS / "prismo.md"
    assert "beehive graph samples.prismo.actors --except TracingActor" in page.read_text()
    [diagram] = [b.code for b in blocks(page) if b.language == "mermaid"]

    assert main(["graph", "samples.prismo.actors", "--except", "TracingActor"]) == 0
    assert capsys.readouterr().out.strip() == diagram.strip()
