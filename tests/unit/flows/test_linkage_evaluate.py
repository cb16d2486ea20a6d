import json
import shutil
from pathlib import Path

import yaml

from flows.cli import main

PAIR = Path(__file__).resolve().parents[2] / "data" / "linkage_pair"


def test_hand_made_pair_links_across_formats_and_countries(tmp_path, capsys):
    out = tmp_path / "result.json"
    assert (
        main(["linkage", "evaluate", "--config", str(PAIR / "config.yaml"), "--json", str(out)])
        == 0
    )
    result = json.loads(out.read_text())
    assert result["records"] == 11 and result["true_pairs"] == 5
    assert result["precision"] == 1.0 and result["recall"] == 1.0
    assert set(result["seconds"]) == {"read", "pseudonymise", "link", "total"}
    printed = capsys.readouterr().out
    assert "precision" in printed and "seconds:" in printed
    # no raw value reaches the report
    assert "Garcia" not in printed + out.read_text() and "90210" not in out.read_text()


def test_a_wrong_truth_lowers_the_score(tmp_path):
    shutil.copytree(PAIR, tmp_path / "pair")
    right = tmp_path / "pair" / "right.csv"
    right.write_text(right.read_text().replace(";A2\n", ";A3\n"))  # B2 claimed to be A3
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "linkage",
                "evaluate",
                "--config",
                str(tmp_path / "pair" / "config.yaml"),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["precision"] < 1.0 and result["recall"] < 1.0


def test_a_column_missing_from_a_file_is_a_clear_error(tmp_path, capsys):
    shutil.copytree(PAIR, tmp_path / "pair")
    config = tmp_path / "pair" / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["files"][0]["columns"]["dob"] = "birthday"
    config.write_text(yaml.safe_dump(data))
    assert main(["linkage", "evaluate", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert "birthday" in err and "left.csv" in err and "Fix:" in err


def test_link_only_scores_pairs_across_the_two_files(tmp_path, capsys):
    """The hand-made pair as a link-only evaluation: no pair inside one file counts, and a
    config with one file is refused with a message saying what to change."""
    shutil.copytree(PAIR, tmp_path / "pair")
    config = tmp_path / "pair" / "config.yaml"
    doc = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**doc, "link_type": "link_only"}))
    every = json.loads(_evaluate(PAIR / "config.yaml", tmp_path / "every.json").read_text())
    across = json.loads(_evaluate(config, tmp_path / "across.json").read_text())
    assert across["link_type"] == "link_only" and every["link_type"] == "dedupe_and_link"
    assert 0 < across["true_pairs"] <= every["true_pairs"]
    assert across["precision"] == 1.0 and across["recall"] == 1.0
    config.write_text(yaml.safe_dump({**doc, "files": doc["files"][:1], "link_type": "link_only"}))
    capsys.readouterr()
    assert main(["linkage", "evaluate", "--config", str(config)]) != 0
    err = capsys.readouterr().err
    assert "link_only" in err and "Traceback" not in err


def _evaluate(config: Path, out: Path) -> Path:
    assert main(["linkage", "evaluate", "--config", str(config), "--json", str(out)]) == 0
    return out


def test_a_one_word_full_name_is_a_surname_not_also_a_forename(tmp_path):
    """A one-word "Clarke" is a surname with no forename: were its word also taken as the forename,
    every one-word "Clarke" would share a rare forename and the linker would chain them."""
    from flows.linkage_evaluate import load_config, standard_rows

    (tmp_path / "f.csv").write_text("id,name\n1,Ann Clarke\n2,Clarke\n3,Ann Mary Clarke\n")
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {"files": [{"path": "f.csv", "truth": "id", "columns": {"full_name": "name"}}]}
        )
    )
    rows = standard_rows(load_config(config).files[0], "f0").sort("truth")
    assert rows["surname"].str.to_lowercase().to_list() == ["clarke"] * 3
    forenames = rows["forename"].to_list()
    assert forenames[1] is None
    assert [f.lower() for f in (forenames[0], forenames[2])] == ["ann", "ann"]
