//! Cost by one dimension, with the values beyond a limit folded into
//! "Other".
//!
//! - Items are sorted by cost descending, ties by value ascending, rows
//!   without the dimension (label `Unassigned`) after named values of the
//!   same cost. The first `limit` items are listed; the rest are folded into
//!   one last item, `Other (N more)` (`isOther`, value `None`), so the items
//!   always add up to `total` exactly.
//! - `share` is the item's cost over the total in percent with one decimal.
//!   The shares add up to exactly 100.0 by the largest-remainder method:
//!   every exact share is floored to a tenth, and the tenths still missing
//!   go one each to the items with the largest remainders (ties: item order).
//! - Credits: shares are of the net total, so with credits an item's share
//!   can be negative or above 100 while they still add up to 100.0. When the
//!   net total is exactly 0 every share is 0.0 (there is no whole to divide).
//! - `change` is the item's change against the comparison period in percent
//!   of `|previous|`, 2 decimals, `None` without a comparison or when the
//!   value cost nothing then.

use std::cmp::Ordering;
use std::collections::HashMap;

use rust_decimal::Decimal;

use super::{add, in_currency, percent_change, value_label};
use crate::model::{Breakdown, BreakdownItem, CostBucket, Currency, Dimension};
use crate::{Error, Result};

#[derive(Default, Clone, Copy)]
struct Sums {
    cost: Decimal,
    requests: u64,
    tokens: u64,
}

fn sums_by_value(
    buckets: &[CostBucket],
    currency: Currency,
) -> Result<HashMap<Option<&str>, Sums>> {
    let mut map: HashMap<Option<&str>, Sums> = HashMap::new();
    for b in in_currency(buckets, currency) {
        let key = b.keys.first().and_then(|k| k.as_deref());
        let e = map.entry(key).or_default();
        e.cost = add(e.cost, b.cost)?;
        e.requests = e.requests.saturating_add(b.requests);
        e.tokens = e
            .tokens
            .saturating_add(b.input_tokens)
            .saturating_add(b.output_tokens);
    }
    Ok(map)
}

/// Cost of `current` by `dimension` (see the module docs).
///
/// `current` and `previous` are buckets grouped by the dimension as their
/// first key (any time bucketing: they are summed); `previous` is the
/// comparison period's, `None` without a comparison.
///
/// # Errors
/// [`Error::Invalid`] on `limit` when it is 0, on `cost` when a sum overflows.
pub fn breakdown(
    dimension: Dimension,
    current: &[CostBucket],
    previous: Option<&[CostBucket]>,
    limit: usize,
    currency: Currency,
) -> Result<Breakdown> {
    if limit == 0 {
        return Err(Error::invalid(
            "limit",
            "a breakdown needs a limit of at least 1",
        ));
    }
    let cur = sums_by_value(current, currency)?;
    let prev = match previous {
        Some(p) => Some(sums_by_value(p, currency)?),
        None => None,
    };
    let mut entries: Vec<(Option<&str>, Sums)> = cur.into_iter().collect();
    entries.sort_by(|(va, a), (vb, b)| {
        b.cost.cmp(&a.cost).then_with(|| match (va, vb) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
    });
    let prev_cost = |v: Option<&str>| {
        prev.as_ref()
            .map(|p| p.get(&v).map_or(Decimal::ZERO, |s| s.cost))
    };
    let change = |cur: Decimal, prev: Option<Decimal>| prev.and_then(|p| percent_change(cur, p));

    let mut total = Decimal::ZERO;
    let mut items = Vec::with_capacity(entries.len().min(limit) + 1);
    let mut other = Sums::default();
    let mut other_prev = Decimal::ZERO;
    let mut folded = 0usize;
    for (i, (value, s)) in entries.iter().enumerate() {
        total = add(total, s.cost)?;
        if i < limit {
            items.push(BreakdownItem {
                value: value.map(str::to_owned),
                label: value_label(*value),
                cost: s.cost,
                requests: s.requests,
                tokens: s.tokens,
                share: Decimal::ZERO,
                change: change(s.cost, prev_cost(*value)),
                is_other: false,
            });
        } else {
            folded += 1;
            other.cost = add(other.cost, s.cost)?;
            other.requests = other.requests.saturating_add(s.requests);
            other.tokens = other.tokens.saturating_add(s.tokens);
            other_prev = add(other_prev, prev_cost(*value).unwrap_or_default())?;
        }
    }
    if folded > 0 {
        items.push(BreakdownItem {
            value: None,
            label: format!("Other ({folded} more)"),
            cost: other.cost,
            requests: other.requests,
            tokens: other.tokens,
            share: Decimal::ZERO,
            change: change(other.cost, prev.as_ref().map(|_| other_prev)),
            is_other: true,
        });
    }
    let costs: Vec<Decimal> = items.iter().map(|i| i.cost).collect();
    for (item, share) in items.iter_mut().zip(shares(&costs, total)) {
        item.share = share;
    }
    Ok(Breakdown {
        dimension,
        items,
        total,
    })
}

/// Shares of `total` in percent with one decimal adding up to exactly 100.0
/// by the largest-remainder method (see the module docs); all 0.0 when
/// `total` is 0. `costs` should add up to `total`.
pub fn shares(costs: &[Decimal], total: Decimal) -> Vec<Decimal> {
    if total.is_zero() || costs.is_empty() {
        return vec![Decimal::ZERO; costs.len()];
    }
    let thousand = Decimal::ONE_THOUSAND;
    // Exact share in tenths of a percent, its floor and the remainder.
    let mut parts: Vec<(usize, i64, Decimal)> = Vec::with_capacity(costs.len());
    let mut floored_sum: i64 = 0;
    for (i, c) in costs.iter().enumerate() {
        let exact = c
            .checked_mul(thousand)
            .and_then(|x| x.checked_div(total))
            .or_else(|| c.checked_div(total).and_then(|x| x.checked_mul(thousand)))
            .unwrap_or(Decimal::ZERO);
        let floor = exact.floor();
        let units = i64::try_from(floor.mantissa() / 10i128.pow(floor.scale())).unwrap_or(0);
        floored_sum = floored_sum.saturating_add(units);
        parts.push((i, units, exact - floor));
    }
    let mut missing = 1000i64.saturating_sub(floored_sum);
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].2.cmp(&parts[a].2).then(a.cmp(&b)));
    // Mathematically 0 <= missing < n; cycle to stay exact even if not.
    let n = i64::try_from(order.len()).unwrap_or(i64::MAX);
    if missing != 0 && n > 0 {
        let each = missing.div_euclid(n);
        let rest = missing.rem_euclid(n);
        for (rank, &i) in order.iter().enumerate() {
            let extra = each + i64::from(i64::try_from(rank).unwrap_or(i64::MAX) < rest);
            parts[i].1 = parts[i].1.saturating_add(extra);
        }
        missing = 0;
    }
    debug_assert_eq!(missing, 0);
    parts
        .iter()
        .map(|(_, units, _)| Decimal::new(*units, 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::insight::test_util::bucket;
    use rust_decimal_macros::dec;

    fn b(v: Option<&str>, cost: Decimal) -> CostBucket {
        bucket(None, &[v], cost, 1)
    }

    #[test]
    fn sorted_limited_other_and_shares() {
        let cur = vec![
            b(Some("openai"), dec!(50)),
            b(Some("anthropic"), dec!(30)),
            b(Some("google"), dec!(10)),
            b(Some("azure"), dec!(10)),
            b(None, dec!(10)),
            b(Some("mistral"), dec!(5)),
            b(Some("mistral"), dec!(-5)),
        ];
        let prev = vec![
            b(Some("openai"), dec!(40)),
            b(Some("google"), dec!(20)),
            b(Some("mistral"), dec!(1)),
        ];
        let bd = breakdown(Dimension::Provider, &cur, Some(&prev), 3, Currency::USD).unwrap();
        assert_eq!(bd.total, dec!(110));
        let view: Vec<_> = bd
            .items
            .iter()
            .map(|i| (i.label.as_str(), i.cost, i.share, i.change, i.is_other))
            .collect();
        assert_eq!(
            view,
            vec![
                ("openai", dec!(50), dec!(45.4), Some(dec!(25.00)), false),
                ("anthropic", dec!(30), dec!(27.3), None, false),
                ("azure", dec!(10), dec!(9.1), None, false),
                // google 10, Unassigned 10, mistral 0; previous 20 + 0 + 1.
                (
                    "Other (3 more)",
                    dec!(20),
                    dec!(18.2),
                    Some(dec!(-4.76)),
                    true
                ),
            ]
        );
        assert_eq!(bd.items[0].value.as_deref(), Some("openai"));
        assert_eq!(bd.items[0].requests, 1);
        assert_eq!(bd.items[0].tokens, 110);
        assert_eq!(bd.items[3].value, None);
        assert_eq!(bd.items[3].requests, 4);
        assert_eq!(
            bd.items.iter().map(|i| i.share).sum::<Decimal>(),
            dec!(100.0)
        );
        assert_eq!(bd.items.iter().map(|i| i.cost).sum::<Decimal>(), bd.total);
    }

    #[test]
    fn unassigned_sorts_after_named_values_of_the_same_cost() {
        let cur = vec![
            b(None, dec!(1)),
            b(Some("z"), dec!(1)),
            b(Some("a"), dec!(2)),
        ];
        let bd = breakdown(Dimension::Team, &cur, None, 10, Currency::USD).unwrap();
        let labels: Vec<_> = bd.items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, vec!["a", "z", "Unassigned"]);
        assert_eq!(
            bd.items.iter().map(|i| i.share).collect::<Vec<_>>(),
            vec![dec!(50.0), dec!(25.0), dec!(25.0)]
        );
        assert!(bd.items.iter().all(|i| i.change.is_none()));
    }

    #[test]
    fn largest_remainder() {
        // Thirds: 33.3 each, the missing tenth to the first.
        assert_eq!(
            shares(&[dec!(1), dec!(1), dec!(1)], dec!(3)),
            vec![dec!(33.4), dec!(33.3), dec!(33.3)]
        );
        assert_eq!(
            shares(&[dec!(0.666), dec!(0.167), dec!(0.167)], dec!(1)),
            vec![dec!(66.6), dec!(16.7), dec!(16.7)]
        );
        // Credits: negative shares, still 100.0.
        let s = shares(&[dec!(150), dec!(-50)], dec!(100));
        assert_eq!(s, vec![dec!(150.0), dec!(-50.0)]);
        let s = shares(&[dec!(2), dec!(-1), dec!(2)], dec!(3));
        // Equal remainders: the missing tenths go to the first items.
        assert_eq!(s, vec![dec!(66.7), dec!(-33.3), dec!(66.6)]);
        assert_eq!(s.iter().sum::<Decimal>(), dec!(100.0));
        // Zero total: all zero, no division.
        assert_eq!(
            shares(&[dec!(5), dec!(-5)], dec!(0)),
            vec![dec!(0), dec!(0)]
        );
        assert_eq!(shares(&[], dec!(0)), Vec::<Decimal>::new());
    }

    #[test]
    fn empty_and_bad_limit() {
        let bd = breakdown(Dimension::Model, &[], None, 5, Currency::USD).unwrap();
        assert_eq!(bd.items, vec![]);
        assert_eq!(bd.total, dec!(0));
        match breakdown(Dimension::Model, &[], None, 0, Currency::USD).unwrap_err() {
            Error::Invalid { field, reason } => {
                assert_eq!(field, "limit");
                assert_eq!(reason, "a breakdown needs a limit of at least 1");
            }
            e => panic!("{e:?}"),
        }
    }
}
