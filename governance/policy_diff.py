"""What changed between two versions of a policy, in words an approver reads before signing."""

from __future__ import annotations

from governance.agreement import Generalise, Policy


def _treatment(policy: Policy, extract: str, column: str) -> str:
    ts = policy.treatments(extract, column)
    words = [f"generalise to {t.generalise}" if isinstance(t, Generalise) else t for t in ts]
    return " and ".join(words) or "not named (dropped)"


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for k, v in value.items():
            out |= _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return {prefix: value}


def agreement_changes(old: Policy, new: Policy) -> list[str]:
    """Dates, retention, lawful basis, roles, opt-out: every agreement field that changed."""
    before = _flat(old.agreement.model_dump(mode="json", exclude={"parties"}))
    after = _flat(new.agreement.model_dump(mode="json", exclude={"parties"}))
    out = []
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            unit = " days" if key.startswith("retention.") else ""
            out.append(
                f"agreement {key} changed from {before.get(key, 'unset')}{unit} to "
                f"{after.get(key, 'unset')}{unit}"
            )
    return out + party_changes(old, new)


def party_changes(old: Policy, new: Policy) -> list[str]:
    was = {p.name: p for p in old.agreement.parties}
    now = {p.name: p for p in new.agreement.parties}
    out = [f"party added: {n} ({now[n].role})" for n in now if n not in was]
    out += [f"party removed: {n} ({was[n].role})" for n in was if n not in now]
    for name in (n for n in now if n in was):
        a, b = was[name].model_dump(mode="json"), now[name].model_dump(mode="json")
        out += [f"party {name}: {k} changed from {a[k]} to {b[k]}" for k in a if a[k] != b.get(k)]
    return out


def extract_changes(old: Policy, new: Policy) -> list[str]:
    out = []
    for ex in sorted(old.extracts.keys() | new.extracts.keys()):
        if ex not in old.extracts:
            out.append(f"extract added: {ex} ({len(new.extracts[ex])} columns)")
            continue
        if ex not in new.extracts:
            out.append(f"extract removed: {ex}")
            continue
        for col in sorted(old.extracts[ex].keys() | new.extracts[ex].keys()):
            was, now = _treatment(old, ex, col), _treatment(new, ex, col)
            if col not in old.extracts[ex]:
                out.append(f"column added: {ex}.{col}, treatment {now}")
            elif col not in new.extracts[ex]:
                out.append(f"column removed: {ex}.{col} (was {was}; now dropped)")
            elif was != now:
                out.append(f"treatment changed: {ex}.{col} from {was} to {now}")
    return out


def describe_changes(old: Policy, new: Policy) -> list[str]:
    return agreement_changes(old, new) + extract_changes(old, new)
