# Independent figures for the FOCUS sample, with Python's decimal module.
import csv, json, collections
from decimal import Decimal
rows=list(csv.DictReader(open(__import__('os').path.join(__import__('os').path.dirname(__file__), 'finops-focus-sample-data_FOCUS-1.0_focus_sample_1000.csv'), newline='', encoding='utf-8-sig')))
def norm(k): return ''.join(c for c in k.strip() if c not in '_- ').lower()
def tags(r):
    t=r['Tags']
    return {} if t in ('NULL','') else json.loads(t)
def pick(r, keys):
    t=tags(r)
    for want in keys:
        for k,v in t.items():
            if v is None: continue
            v = v if isinstance(v,str) else json.dumps(v)
            if norm(k)==norm(want) and v.strip(): return v.strip()
    return None
E=lambda r: Decimal(r['EffectiveCost']); B=lambda r: Decimal(r['BilledCost'])
def grp(f, cost=E):
    g=collections.defaultdict(Decimal)
    for r in rows: g[f(r)]+=cost(r)
    return g
print('rows', len(rows))
print('total effective', sum(map(E,rows)), 'billed', sum(map(B,rows)))
print('credits billed', sum(B(r) for r in rows if B(r)<0), sum(1 for r in rows if B(r)<0))
print('provider effective', dict(grp(lambda r:r['ProviderName'])))
print('provider billed', dict(grp(lambda r:r['ProviderName'], B)))
t=grp(lambda r:pick(r,['team','business_unit']), B); print('team billed groups', len(t), 'None', t[None], 'PeoriaData', t['PeoriaData'], 'top', sorted(t.items(), key=lambda kv:-kv[1])[:3])
print('cost center billed', dict(grp(lambda r:pick(r,['cost_center','cost_department']), B)))
print('tag org billed', dict(grp(lambda r: next((v for k,v in tags(r).items() if k.strip()=='org'), None), B)))
s=grp(lambda r:r['ServiceName'], B); print('services', len(s), sorted(s.items(), key=lambda kv:-kv[1])[:3])
s=grp(lambda r:r['SkuId'], B); print('skus', len(s))
d=grp(lambda r:r['ChargePeriodStart'][:10], B); print('days', len(d), d['2024-09-18'], d['2024-09-01'], d['2024-09-30'])
h=grp(lambda r:r['ChargePeriodStart'][:13], B); print('hour 2024-09-18 22', h['2024-09-18 22'])
print('range 09-01..09-15 billed', sum(B(r) for r in rows if r['ChargePeriodStart'][:10] <= '2024-09-15'))
print('AWS+team PeoriaData billed', sum(B(r) for r in rows if r['ProviderName']=='AWS' and pick(r,['team','business_unit'])=='PeoriaData'))
