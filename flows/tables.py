"""Tables as Markdown, CSV and one offline HTML page (no scripts, no fetched resources)."""

from __future__ import annotations

import csv
import html
import io

Section = tuple[str, list[str], list[list]]

STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:120em}"
    "table{border-collapse:collapse;font-size:.85em;margin-bottom:1.5em}"
    "td,th{border:1px solid #999;padding:.2em .4em;text-align:left;vertical-align:top}"
    "th{background:#eee}.warn{color:#8a1c00;font-weight:bold}"
)


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(title: str, intro: list[str], sections: list[Section]) -> str:
    out = [f"# {title}", "", *intro, ""]
    for name, header, rows in sections:
        out += [f"## {name} ({len(rows)})", ""]
        out.append(markdown_table(header, rows) if rows else "None.")
        out.append("")
    return "\n".join(out)


def csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[str(c) for c in r] for r in rows])
    return buffer.getvalue()


def html_table(header: list[str], rows: list[list]) -> str:
    esc = html.escape
    head = "".join(f"<th scope='col'>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(title: str, intro: list[str], sections: list[Section]) -> str:
    esc = html.escape
    body = [f"<h1>{esc(title)}</h1>"] + [f"<p>{esc(p)}</p>" for p in intro if p]
    for name, header, rows in sections:
        body.append(f"<h2>{esc(name)} ({len(rows)})</h2>")
        body.append(html_table(header, rows) if rows else "<p>None.</p>")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        f"<title>{esc(title)}</title><link rel='icon' href='data:,'>"
        f"<style>{STYLE}</style></head><body>" + "".join(body) + "</body></html>\n"
    )
