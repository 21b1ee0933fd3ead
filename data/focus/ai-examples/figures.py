# Independent figures for the FOCUS AI billing examples, with Python's
# decimal module: per file, BilledCost and EffectiveCost per currency, and
# BilledCost per model (SkuPriceDetails.ModelId, else ServiceName: the
# reader's default model column) and per token class
# (TokenDirection + TokenCacheAction, or the interim TokenType).
# Run: python3 figures.py (from this directory).
import csv, json, os, collections
from decimal import Decimal

here = os.path.dirname(os.path.abspath(__file__))

def token_class(d):
    direction = (d.get('TokenDirection') or d.get('TokenType') or '').lower()
    cache = (d.get('TokenCacheAction') or '').lower()
    if direction == 'input':
        return {'read': 'cache_read', 'write': 'cache_write'}.get(cache, 'input')
    if direction == 'output':
        return 'output'
    return None

def dec(v):
    return Decimal(v) if v not in ('', 'NULL', None) else Decimal(0)

for name in sorted(f for f in os.listdir(here) if f.endswith('.csv')):
    rows = list(csv.DictReader(open(os.path.join(here, name), newline='', encoding='utf-8-sig')))
    billed = collections.defaultdict(Decimal)
    effective = collections.defaultdict(Decimal)
    model = collections.defaultdict(Decimal)
    klass = collections.defaultdict(Decimal)
    for r in rows:
        r = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in r.items()}
        cur = r.get('BillingCurrency') or 'USD'
        billed[cur] += dec(r['BilledCost'])
        effective[cur] += dec(r.get('EffectiveCost'))
        d = json.loads(r['SkuPriceDetails']) if r.get('SkuPriceDetails') else {}
        model[d.get('ModelId') or r.get('ServiceName') or None] += dec(r['BilledCost'])
        klass[token_class(d)] += dec(r['BilledCost'])
    print(name)
    print('  billed', dict(billed), 'effective', dict(effective))
    print('  model', {k: str(v) for k, v in sorted(model.items(), key=lambda kv: str(kv[0]))})
    print('  class', {k: str(v) for k, v in sorted(klass.items(), key=lambda kv: str(kv[0]))})
