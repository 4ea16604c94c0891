"""The browser audit (``zkmargin audit web``) measured as a user meets it.

    python -m bench.web_audit [--profile demo] [--reps 5] [--accounts 36] [--out bench/results/web_audit.json]

1. The demo on the embedded chain makes the two users' files (one liquidated, one healthy
   whose attestation it proved).
2. The site is built (esbuild; timed) and its sizes are taken.
3. Headless Chromium (Debian's, through playwright-core) loads the page from 127.0.0.1 and
   audits each user offline, ``reps`` times in a fresh context: load to ready, and click to
   verdict (Poseidon hashes, the margin in BigInt, snarkjs's Groth16 verify, liquidation
   prices). A failed audit fails the benchmark.
4. The liquidation prices of ``accounts`` demo accounts: in node with the page's modules,
   and with the engine (Python) for the same accounts, side by side, per account.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.fileio import write_json_atomic
from engine.formats.account import LabeledAccount, dump_account
from engine.formats.market import dump_market, make_market_file
from engine.formats.params import dump_risk_params
from engine.formats.quotes import QuotesFile
from engine.profiles import get_profile
from engine.report import liquidation_prices
from verifier_contracts.solc import node_binary
from zkmargin.demo.data import DEMO_AS_OF, demo_accounts, demo_market
from zkmargin.demo.run import USER_FILES, DemoOptions, run_demo
from zkmargin.web_audit import SiteServer, build_site, find_chromium, profiles_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "web_audit.json"
DRIVER = Path(__file__).resolve().parent / "web_audit.mjs"


def _node(mode: str, job: dict[str, Any], work: Path) -> Any:
    path = work / f"{mode}.json"
    path.write_text(json.dumps(job), encoding="utf-8")
    done = subprocess.run(
        [node_binary(), str(DRIVER), mode, str(path)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"node {DRIVER.name} {mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def page_figures(profile: str, reps: int, work: Path) -> dict[str, Any]:
    console = Console(quiet=True)
    summary = run_demo(DemoOptions(profile=profile, chain="embedded", out=work / "demo"), console)
    users = {
        "liquidated": work / "demo" / f"user-{summary.liquidated[0]}",
        "healthy": work / "demo" / f"user-{summary.attested[0]}",
    }
    began = time.perf_counter()
    site = build_site(work / "site")
    build_seconds = time.perf_counter() - began
    sizes = {name: (site / name).stat().st_size for name in ("app.js", "vendor/snarkjs.min.js", "index.html")}
    with SiteServer(site) as server:
        job = {
            "url": server.url,
            "chromium": str(find_chromium()),
            "reps": reps,
            "users": {
                name: {slot: str(folder / f) for slot, f in USER_FILES.items()}
                for name, folder in users.items()
            },
        }
        runs = _node("page", job, work)
    out: dict[str, Any] = {
        "profile": profile,
        "constraints": summary.constraints,
        "batch_size": summary.batch_size,
        "site_build_seconds": round(build_seconds, 2),
        "site_bytes": sizes,
    }
    for name, user_runs in runs.items():
        out[name] = {
            "ready_ms": _spread([r["ready_ms"] for r in user_runs]),
            "audit_ms": _spread([r["audit_ms"] for r in user_runs]),
            "liquidation_shown": user_runs[0]["liquidation"],
        }
    return out


def liquidation_figures(profile: str, count: int, work: Path) -> dict[str, Any]:
    dm = demo_market(get_profile(profile))
    accounts = demo_accounts(dm.market, dm.params, count=count, seed=5)[0]
    quotes = QuotesFile(DEMO_AS_OF, tuple(dm.quotes), tuple(dm.instruments))
    job = {
        "profiles": profiles_json(),
        "market": dump_market(make_market_file(dm.market, quotes, dm.config, None)),
        "params": {"format": "zkmargin/params@2", "model": "ZKPM-2", **dump_risk_params(dm.params)},
        "accounts": [dump_account(LabeledAccount(a)) for a in accounts],
    }
    page = _node("liquidation", job, work)
    python_ms = []
    liquidation_prices(dm.market, dm.params, accounts[0], dm.quotes, dm.instruments, dm.config, DEMO_AS_OF)
    for account in accounts:
        began = time.perf_counter()
        liquidation_prices(dm.market, dm.params, account, dm.quotes, dm.instruments, dm.config, DEMO_AS_OF)
        python_ms.append((time.perf_counter() - began) * 1000)
    searched = [i for i, r in enumerate(page) if r["searched"]]
    if not searched:
        raise SystemExit("no account needed a search: every one is liquidatable already")
    return {
        "accounts": count,
        "searched_accounts": len(searched),  # the others are liquidatable now: no search
        "held_assets_per_account": round(statistics.mean(r["held"] for r in page), 2),
        "page_ms_per_account": _spread([r["ms"] for r in page]),
        "engine_ms_per_account": _spread(python_ms),
        "page_ms_per_searched_account": _spread([page[i]["ms"] for i in searched]),
        "engine_ms_per_searched_account": _spread([python_ms[i] for i in searched]),
    }


def run(profile: str, reps: int, accounts: int, out: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        doc = {
            "page": page_figures(profile, reps, work),
            "liquidation": liquidation_figures(profile, accounts, work),
        }
    write_json_atomic(out, doc)
    return doc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=36)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    doc = run(args.profile, args.reps, args.accounts, args.out)
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
