"""Independent figures (Python decimal) for the bundled Azure LLM code trace:

1. every request priced as gpt-4o (LiteLLM 1.110.2 prices), asserted in
   tests/llm_pricing.rs;
2. the demo assignment of `backends::file::demo` (model, team, project,
   user, feature chosen from a multiplicative hash of the row index),
   asserted in src/backends/file/demo.rs.

Run from this directory: python3 figures.py
"""
import csv, json, os, collections
from decimal import Decimal

here = os.path.dirname(os.path.abspath(__file__))
prices = json.load(open(os.path.join(here, '..', 'prices', 'litellm-1.110.2_model_prices_subset.json')),
                   parse_float=Decimal, parse_int=Decimal)
rows = list(csv.DictReader(open(os.path.join(here, 'azurepublicdataset_AzureLLMInferenceTrace2023_code.csv'))))

def cost(model, i, o):
    p = prices[model]
    return i * p['input_cost_per_token'] + o * p['output_cost_per_token']

ci = sum(int(r['ContextTokens']) for r in rows)
go = sum(int(r['GeneratedTokens']) for r in rows)
print('requests', len(rows), 'input', ci, 'output', go)
print('all as gpt-4o', cost('gpt-4o', ci, go))

MODELS = [('openai', 'gpt-4o-2024-08-06')] * 6 + [('openai', 'gpt-4o-mini')] * 3 + [('anthropic', 'claude-sonnet-4-5')]
TEAMS = ['search', 'ads', 'platform', 'research']
PROJECTS = ['copilot', 'review-bot', 'docs-assistant']
by_model = collections.defaultdict(Decimal)
by_team = collections.defaultdict(Decimal)
total = Decimal(0)
for i, r in enumerate(rows):
    h = (i * 2654435761) % 2**32
    provider, model = MODELS[(h >> 8) % 10]
    team = TEAMS[h % 4]
    c = cost(model, int(r['ContextTokens']), int(r['GeneratedTokens']))
    by_model[model] += c
    by_team[team] += c
    total += c
print('demo total', total)
print('demo by model', dict(by_model))
print('demo by team', dict(by_team))

# 3. Savings: the demo's gpt-4o-2024-08-06 requests on gpt-4o-mini instead.
sel = [(i, r) for i, r in enumerate(rows) if MODELS[(((i * 2654435761) % 2**32) >> 8) % 10][1] == 'gpt-4o-2024-08-06']
si = sum(int(r['ContextTokens']) for _, r in sel)
so = sum(int(r['GeneratedTokens']) for _, r in sel)
spend = by_model['gpt-4o-2024-08-06']
mini = cost('gpt-4o-mini', si, so)
print('gpt-4o tokens', si, so, 'spend', spend, 'on mini', mini, 'saving 100%', (spend - mini).quantize(Decimal('0.01')))
