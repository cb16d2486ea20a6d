"""The committed data dictionary is what the contracts, policies and frameworks say today."""

from flows.dictionary import DOCS, render


def test_the_committed_data_dictionary_is_current():
    md, page = render()
    assert (DOCS / "data-dictionary.md").read_text() == md, (
        "run `uv run python -m flows.dictionary`"
    )
    assert (DOCS / "data-dictionary.html").read_text() == page, (
        "run `uv run python -m flows.dictionary`"
    )


def test_it_names_every_framework_version_and_each_agreements_disclosure_rules():
    from transforms import framework

    md, _ = render()
    for name in framework.shipped():
        assert framework.load(name).version in md
    assert "redact 1-7, round to 5" in md
    assert "| sex | str | sex | pseudonymise, keep |" in md and "cohort.sex" in md
