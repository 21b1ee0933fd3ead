#!/usr/bin/env python3
"""Generate the bundled demo usage data (deterministic; rerun to reproduce).

Volumes are synthetic (a seeded random walk with weekly seasonality, growth,
and two injected spikes); prices are real per-token prices from LiteLLM
1.110.2 (`model_prices_and_context_window.json`, MIT licence), so costs look
like a real company's AI bill. Costs are computed with exact decimals.
"""
import csv, datetime, random
from decimal import Decimal as D

PRICES = {  # model: (provider, input/token, output/token, cached input/token) from LiteLLM 1.110.2
    "gpt-4o": ("openai", D("2.5e-06"), D("1e-05"), D("1.25e-06")),
    "gpt-4o-mini": ("openai", D("1.5e-07"), D("6e-07"), D("7.5e-08")),
    "gpt-4.1": ("openai", D("2e-06"), D("8e-06"), D("5e-07")),
    "claude-sonnet-4-5": ("anthropic", D("3e-06"), D("1.5e-05"), D("3e-07")),
    "claude-haiku-4-5": ("anthropic", D("1e-06"), D("5e-06"), D("1e-07")),
    "gemini-2.5-flash": ("google", D("3e-07"), D("2.5e-06"), D("3e-08")),
    "mistral-large-latest": ("mistral", D("5e-07"), D("1.5e-06"), D("5e-08")),
}
TEAMS = {  # team: (project, cost center, feature, [(model, base requests/day, avg in, avg out, cache share)])
    "search": ("semantic-search", "CC-100", "query-rewrite", [("gpt-4o", 900, 1800, 250, 0.35), ("gpt-4o-mini", 4000, 900, 120, 0.5)]),
    "support": ("helpdesk-bot", "CC-200", "chat", [("claude-sonnet-4-5", 1200, 2500, 400, 0.2), ("claude-haiku-4-5", 2500, 1200, 200, 0.4)]),
    "ads": ("ad-copy", "CC-300", "generation", [("gpt-4.1", 500, 1200, 600, 0.1), ("gemini-2.5-flash", 3000, 800, 300, 0.25)]),
    "research": ("evals", "CC-400", "batch-eval", [("claude-sonnet-4-5", 300, 6000, 800, 0.05), ("gpt-4o", 200, 5000, 700, 0.05)]),
    "platform": ("gateway", "CC-500", "routing", [("mistral-large-latest", 800, 1000, 300, 0.3)]),
    None: ("", "", "experiments", [("gpt-4o-mini", 600, 700, 150, 0.1)]),
}
start, end = datetime.date(2026, 8, 1), datetime.date(2026, 10, 31)
rng = random.Random(20261124)
rows = []
day = start
while day <= end:
    t = (day - start).days
    weekday = day.weekday()
    season = 0.55 if weekday >= 5 else 1.0
    growth = 1 + 0.004 * t
    for team, (project, cc, feature, models) in TEAMS.items():
        for model, base, avg_in, avg_out, cache in models:
            provider, p_in, p_out, p_cached = PRICES[model]
            noise = rng.uniform(0.85, 1.15)
            spike = 1.0
            if team == "research" and day == datetime.date(2026, 10, 14):
                spike = 6.0  # a runaway eval job
            if team == "ads" and model == "gpt-4.1" and day == datetime.date(2026, 9, 22):
                spike = 4.5
            requests = int(8 * base * season * growth * noise * spike)
            cached_requests = int(requests * cache * rng.uniform(0.9, 1.1))
            input_tokens = int(requests * avg_in * rng.uniform(0.9, 1.1))
            output_tokens = int(requests * avg_out * rng.uniform(0.9, 1.1))
            cached_tokens = int(input_tokens * cache * 0.8)
            cost = (input_tokens - cached_tokens) * p_in + cached_tokens * p_cached + output_tokens * p_out
            rows.append({
                "date": day.isoformat(), "provider": provider, "model": model,
                "team": team or "", "project": project, "cost_center": cc, "feature": feature,
                "cost": str(cost.normalize() if cost != cost.to_integral() else cost.quantize(D(1))),
                "requests": requests, "input_tokens": input_tokens, "output_tokens": output_tokens,
                "cached_requests": cached_requests,
            })
    day += datetime.timedelta(days=1)
with open("llm_usage_daily.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
total = sum(D(r["cost"]) for r in rows)
print(len(rows), "rows, total", total)
