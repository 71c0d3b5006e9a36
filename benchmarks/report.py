"""Turning a run into something to read: derived rates, tables (text and Markdown), goals, baselines."""

from __future__ import annotations

import json

SCHEMA = "autograd-bench/1"


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_rate(res):
    if res.get("gflops") is not None:
        return f"{res['gflops']:.1f} GFLOP/s"
    if res.get("gbs") is not None:
        return f"{res['gbs']:.1f} GB/s"
    return ""


def derive(entry, peak_gflops, stat="median"):
    """Add GFLOP/s, GB/s and the fraction of the sgemm peak (from medians) to each framework's result,
    and the ratios ours / other and the goal verdict from ``stat`` (median, or min on a busy machine)."""
    for res in entry["results"].values():
        if res.get("status") != "ok" or not res.get("median"):
            continue
        if entry.get("flops"):
            res["gflops"] = entry["flops"] / res["median"] / 1e9
            if peak_gflops:
                res["peak_fraction"] = res["gflops"] / peak_gflops
        if entry.get("bytes"):
            res["gbs"] = entry["bytes"] / res["median"] / 1e9
    ours = entry["results"].get("ours", {})
    entry["ratios"] = {}
    for fw, res in entry["results"].items():
        if fw != "ours" and ours.get(stat) and res.get(stat):
            entry["ratios"][fw] = ours[stat] / res[stat]
    entry["stat"] = stat
    goal = entry["case"].get("goal") or {}
    if goal:
        entry["goal"] = evaluate_goal(goal, entry, stat)


def evaluate_goal(goal, entry, stat="median"):
    ours = entry["results"].get("ours", {})
    out = dict(goal)
    if "max_ratio" in goal:
        r = entry["ratios"].get(goal.get("vs", "torch"))
        out["value"] = r
        out["met"] = None if r is None else r <= goal["max_ratio"]
    elif "max_seconds" in goal:
        v = ours.get(stat)
        out["value"] = v
        out["met"] = None if v is None else v <= goal["max_seconds"]
    return out


def status_cell(res):
    st = res.get("status")
    if st == "ok":
        return None
    return {"failed": "FAILED", "unavailable": "unavailable", "error": "ERROR"}.get(st, st or "-")


def _notes(run):
    """Footnotes in table order: failures, errors, unavailable cases, startup details, noisy measurements."""
    notes = []
    for entry in run["cases"]:
        for fw, res in entry["results"].items():
            st = res.get("status")
            if st == "failed":
                notes.append(f"{fw} FAILED {entry['id']}: {res.get('error')} (not timed)")
            elif st == "error":
                detail = res.get("error", "")
                tb = res.get("traceback") or []
                if tb:
                    detail += " | " + " / ".join(line.strip() for line in tb[-3:])
                if res.get("stderr"):
                    detail += " | stderr: " + res["stderr"].strip().splitlines()[-1]
                notes.append(f"{fw} ERROR {entry['id']}: {detail}")
            elif st == "unavailable":
                notes.append(f"{fw} unavailable {entry['id']}: {res.get('reason')}")
            elif res.get("startup"):
                st_ = res["startup"]
                if "numba_imported" in st_:
                    pulls = "PULLS IN" if st_["numba_imported"] else "does not pull in"
                    notes.append(f"{fw} {entry['id']}: the import {pulls} numba")
                else:
                    notes.append(f"{fw} {entry['id']}: interpreter start + imports "
                                 f"{fmt_time(st_['start_and_imports_s'])}, then the first conv2d call "
                                 f"{fmt_time(st_['first_call_s'])} (medians)")
            if st != "ok":
                continue
            busy = (res.get("others_cpu") or 0) > 0.25
            if res.get("noisy") or busy:
                what = []
                if res.get("noisy"):
                    what.append(f"IQR/median = {res['rel_iqr']:.0%} over {res['repeats']} samples")
                if busy:
                    what.append(f"other processes used {res['others_cpu']:.1f} cores while it ran")
                notes.append(f"{fw} {'noisy' if res.get('noisy') else 'contended'} {entry['id']}: "
                             f"{'; '.join(what)}")
    return notes


def _columns(run):
    fws = list(run["frameworks"])
    head = ["case"]
    for fw in fws:
        head += [f"{fw} median", "IQR", "min", "rate"]
        if fw == "ours":
            head += ["%peak", "first call"]
    stat = "" if _stat_word(run) == "medians" else " (min)"
    head += [f"ours/{fw}{stat}" for fw in fws if fw != "ours"]
    rows = []
    for entry in run["cases"]:
        row = [entry["title"]]
        for fw in fws:
            res = entry["results"].get(fw, {})
            bad = status_cell(res)
            if bad:
                row += [bad, "", "", ""] + (["", ""] if fw == "ours" else [])
                continue
            iqr = f"{res['rel_iqr']:.0%}" + ("~" if res.get("noisy") else "")
            row += [fmt_time(res.get("median")), iqr, fmt_time(res.get("min")), fmt_rate(res)]
            if fw == "ours":
                pf = res.get("peak_fraction")
                row += [f"{pf:.0%}" if pf is not None else "", fmt_time(res.get("first_call_s"))]
        for fw in fws:
            if fw != "ours":
                r = entry["ratios"].get(fw)
                row.append(f"{r:.2f}" if r is not None else "-")
        rows.append(row)
    return head, rows


def text_report(run):
    h = run["header"]
    out = []
    commit = (h.get("commit") or "unknown")[:10] + (" (uncommitted changes)" if h.get("dirty") else "")
    load = h.get("load_average_start")
    out.append(f"autograd-bench {h['date']} | commit {commit} | {h['cpu']} | {h['cores']} cores | "
               f"threads {h['threads']} | load {' '.join(f'{x:.2f}' for x in load) if load else '?'}")
    out.append("versions: " + versions_line(run))
    if h.get("busy_warning"):
        out.append(h["busy_warning"])
    pk = run.get("peak")
    if pk and pk.get("status") == "ok":
        out.append(f"sgemm peak (numpy {pk['n']}x{pk['n']} float32 matmul): {pk['gflops']:.0f} GFLOP/s median, "
                   f"{pk['gflops_best']:.0f} best")
    out.append("")
    head, rows = _columns(run)
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    fmt = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths)))
    out.append(fmt(head))
    out.append("  ".join("-" * w for w in widths))
    out += [fmt(r) for r in rows]
    notes = _notes(run)
    if notes:
        out.append("")
        out += [f"! {n}" for n in notes]
    goals = goal_rows(run)
    if goals:
        out.append("")
        out.append(f"goals (ratio = ours / torch, lower is better; times are {_stat_word(run)}):")
        gh = ["case", "ours", "torch", "ratio", "goal", "met?"]
        gw = [max(len(str(r[i])) for r in [gh] + goals) for i in range(len(gh))]
        out.append("  ".join(str(c).ljust(w) for c, w in zip(gh, gw)))
        out += ["  ".join(str(c).ljust(w) for c, w in zip(r, gw)) for r in goals]
    return "\n".join(out)


def versions_line(run):
    parts = []
    for fw, meta in run["frameworks"].items():
        info = dict(meta.get("info") or {})
        info.update(meta.get("runtime") or {})
        if meta.get("unavailable"):
            parts.append(f"{fw}: unavailable ({meta['unavailable']})")
            continue
        s = f"{fw}: {info.get('framework', fw)} {info.get('version', '?')}"
        for key in ("numpy", "numba"):
            if info.get(key) and info.get("framework") != key:
                s += f", {key} {info[key]}"
        if info.get("numba_threads"):
            s += f" ({info['numba_threads']} Numba threads, layer {info.get('numba_threading_layer')})"
        if info.get("threads") and fw == "torch":
            s += f" ({info['threads']} threads)"
        parts.append(s + f", python {info.get('python', '?')}")
    return "; ".join(parts)


def goal_rows(run):
    rows = []
    for entry in run["cases"]:
        g = entry.get("goal")
        if not g:
            continue
        ours = entry["results"].get("ours", {})
        vs = g.get("vs", "torch")
        other = entry["results"].get(vs, {})
        ratio = entry["ratios"].get(vs)
        if "max_ratio" in g:
            goal = f"<= {g['max_ratio']:g}"
        else:
            goal = f"<= {g['max_seconds']:g} s"
        met = {True: "yes", False: "NO", None: "n/a"}[g.get("met")]
        if g.get("met") is None:
            why = status_cell(ours) or (status_cell(other) if other else f"{vs} not run")
            met = f"n/a ({why})" if why else met
        stat = entry.get("stat", "median")
        rows.append([entry["title"], fmt_cell(ours, stat), fmt_cell(other, stat), f"{ratio:.2f}" if ratio else "-",
                     goal, met])
    return rows


def _stat_word(run):
    stats = {e.get("stat", "median") for e in run["cases"]}
    return "minima" if stats == {"min"} else "medians"


def fmt_cell(res, stat="median"):
    if not res:
        return "-"
    return status_cell(res) or fmt_time(res.get(stat))


def markdown_report(run):
    h = run["header"]
    out = [f"Command: `{h['command']}`", "",
           f"Machine: {h['cpu']}, {h['cores']} cores, threads {h['threads']}, load average at start "
           f"{' '.join(f'{x:.2f}' for x in h.get('load_average_start') or [])}; commit "
           f"`{(h.get('commit') or 'unknown')[:10]}`{' (uncommitted changes)' if h.get('dirty') else ''}; "
           f"{h['date']}.", "", f"Versions: {versions_line(run)}.", ""]
    pk = run.get("peak")
    if pk and pk.get("status") == "ok":
        out += [f"sgemm peak (numpy {pk['n']}x{pk['n']} float32): {pk['gflops']:.0f} GFLOP/s (median), "
                f"{pk['gflops_best']:.0f} (best).", ""]
    goals = goal_rows(run)
    if goals:
        out += ["| goal case | ours | PyTorch | ratio | goal | met? |", "| --- | --- | --- | --- | --- | --- |"]
        out += ["| " + " | ".join(r) + " |" for r in goals]
        out.append("")
    head, rows = _columns(run)
    out += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    notes = _notes(run)
    if notes:
        out.append("")
        out += [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- baselines


def load_run(path):
    with open(path) as f:
        data = json.load(f)
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a benchmark JSON file of this tool (schema {data.get('schema')!r})")
    return data


def compare_baseline(run, base, threshold, framework="ours", stat="median"):
    """Rows (id, old, new, new/old, verdict) of ``stat`` (median or min) for cases timed in both runs."""
    old = {e["id"]: e["results"].get(framework, {}) for e in base.get("cases", [])}
    rows = []
    for entry in run["cases"]:
        prev = old.get(entry["id"])
        cur = entry["results"].get(framework, {})
        if not prev or prev.get("status") != "ok":
            continue
        if cur.get("status") != "ok":
            rows.append((entry["id"], prev.get(stat), None, None, f"now {cur.get('status', 'missing')}"))
            continue
        change = cur[stat] / prev[stat]
        verdict = "REGRESSION" if change > 1 + threshold else ("faster" if change < 1 / (1 + threshold) else "same")
        rows.append((entry["id"], prev[stat], cur[stat], change, verdict))
    return rows


def baseline_text(rows, threshold, path, stat="median"):
    out = [f"compared with baseline {path} (threshold {threshold:.0%}, {stat} of ours):"]
    if not rows:
        return out[0] + " no case in common"
    w = max(len(r[0]) for r in rows)
    for cid, old, new, change, verdict in rows:
        ch = f"{change:.2f}x" if change else "-"
        out.append(f"  {cid.ljust(w)}  {fmt_time(old):>10} -> {fmt_time(new):>10}  {ch:>6}  {verdict}")
    return "\n".join(out)
