//! Chargeback allocation: which target pays for which cost, to the cent.
//!
//! [`allocate`] turns cost rows into an [`Allocation`] following a
//! [`ChargebackConfiguration`]:
//!
//! - **Key.** A row's key is its value for the configuration's
//!   `allocationBasis` (`team`, `project`, `cost_center`, or for `custom` the
//!   tag named by `customTagKey`). A row without that value (or with an empty
//!   one) is *untagged*.
//! - **Rules.** A rule moves the cost of the rows whose key equals its
//!   `source`; `source: ""` matches untagged rows. A `target` rule moves
//!   `percentage` percent (default 100) to the target; the rest stays with
//!   the source key, and for `source: ""` the rest stays **unallocated**. A
//!   `split` rule divides the whole cost among its targets in proportion to
//!   their weights (a target of weight 0 receives nothing and does not appear
//!   because of that rule). Rules do not chain: a target that is itself the
//!   source of a rule keeps what it received.
//! - **Unmatched rows.** A tagged row no rule matches stays with its own key
//!   (its key becomes an allocation target); an untagged row no rule matches
//!   is unallocated.
//! - **Exactness.** Row costs are summed exactly as decimals, and every share
//!   is carried as an exact fraction (a `1:2` split of 1.00 is exactly `1/3`
//!   and `2/3`, never `0.3333…`). Rounding happens once, at the end:
//!   - `totalCost` is the exact total rounded to the currency's minor unit
//!     (ISO 4217: USD 2, JPY 0, KWD 3…) half away from zero;
//!   - `unallocatedCost` is the exact unallocated amount rounded the same way;
//!   - `allocatedCost = totalCost - unallocatedCost`, and it is apportioned
//!     to the targets by the **largest-remainder method**: each target gets
//!     its exact share rounded down (towards negative infinity) to the minor
//!     unit, and the units left over go one each to the targets with the
//!     largest remainders, ties broken by target name ascending;
//!   - inside each allocation, `byProvider` and `byModel` are apportioned from
//!     the allocation's total by the same method (ties by provider or model
//!     name), so each map sums exactly to its allocation. Rows without a
//!     provider (or model) are listed under `"unknown"`.
//!
//!   So `sum(allocations) + unallocatedCost == totalCost` holds exactly, for
//!   any input, credits (negative costs) included.
//! - **Currency.** Rows without a currency are in the configuration's
//!   currency; a row in another currency is an error, never mixed in.
//!
//! Errors are [`Error::Invalid`]: an invalid configuration names its field
//! (`allocationRules[1].percentage`); a row in another currency names
//! `rows[i].currency`; amounts beyond the decimal range (about 7.9e28) name
//! `rows[i].cost` or `rows`. Nothing panics.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

use crate::model::{
    Allocation, AllocationBreakdown, AllocationRule, ChargebackAllocation, ChargebackConfiguration,
    CostRow, Currency,
};
use crate::{Error, Result};

/// The name used in `byProvider` / `byModel` for rows without a provider or
/// model.
pub const UNKNOWN: &str = "unknown";

/// An exact amount: a fraction of two integers, as [`allocate`] carries
/// shares before rounding. Equality and order are numeric (`1/2 == 2/4`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Exact(BigRational);

impl Exact {
    /// Zero.
    pub fn zero() -> Self {
        Exact(BigRational::zero())
    }

    /// The exact value of a decimal.
    pub fn from_decimal(d: Decimal) -> Self {
        Exact(rational(d))
    }

    /// This amount multiplied exactly by `factor`.
    pub fn scaled(&self, factor: Decimal) -> Self {
        Exact(&self.0 * rational(factor))
    }

    /// The amount as a decimal when it has a finite decimal expansion that a
    /// [`Decimal`] holds exactly (`1/8` is `0.125`); `None` otherwise (`1/3`,
    /// or more than 28 decimal places, or beyond the decimal range).
    pub fn to_decimal(&self) -> Option<Decimal> {
        let denom = self.0.denom();
        // A fraction in lowest terms terminates iff its denominator is 2^a 5^b.
        let mut rest = denom.clone();
        let (mut twos, mut fives) = (0u32, 0u32);
        let two = BigInt::from(2);
        let five = BigInt::from(5);
        while (&rest % &two).is_zero() {
            rest /= &two;
            twos += 1;
        }
        while (&rest % &five).is_zero() {
            rest /= &five;
            fives += 1;
        }
        if !rest.is_one() {
            return None;
        }
        let scale = twos.max(fives);
        if scale > 28 {
            return None;
        }
        let units = (self.0.numer() * pow10(scale)) / denom;
        Decimal::try_from_i128_with_scale(units.to_i128()?, scale).ok()
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.0.is_negative()
    }
}

impl fmt::Debug for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Exact({self})")
    }
}

impl fmt::Display for Exact {
    /// A terminating value as a decimal (`12.5`), any other as `n/d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_decimal() {
            Some(d) => write!(f, "{d}"),
            None => write!(f, "{}/{}", self.0.numer(), self.0.denom()),
        }
    }
}

/// The exact shares before rounding (see [`unrounded`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnroundedAllocation {
    /// Exact share of each target.
    pub targets: BTreeMap<String, Exact>,
    /// Exact cost of untagged rows no rule moved (and the untagged remainder
    /// of a `source: ""` rule below 100 percent).
    pub unallocated: Exact,
    /// Exact sum of all row costs.
    pub total: Exact,
}

/// Allocate `rows` as `config` says, rounded to the currency's minor unit.
/// See the [module docs](self) for the exact rules.
///
/// # Errors
/// [`Error::Invalid`]: the configuration is invalid (the field of
/// [`ChargebackConfiguration::validate`], e.g. `allocationRules[0].split`), a
/// row's currency differs from the configuration's (`rows[i].currency`), or
/// an amount is beyond the decimal range (`rows[i].cost`, `rows`).
pub fn allocate(config: &ChargebackConfiguration, rows: &[CostRow]) -> Result<Allocation> {
    let exact = compute(config, rows)?;
    round(config.currency, exact)
}

/// The exact (unrounded) share of every target, as [`allocate`] computes
/// before rounding. Scaling every cost by `k` scales every share by `k`,
/// exactly.
///
/// # Errors
/// As [`allocate`].
pub fn unrounded(
    config: &ChargebackConfiguration,
    rows: &[CostRow],
) -> Result<UnroundedAllocation> {
    let exact = compute(config, rows)?;
    let d = &exact.denom;
    let ex = |n: BigInt| Exact(BigRational::new(n, d.clone()));
    Ok(UnroundedAllocation {
        targets: exact
            .targets
            .into_iter()
            .map(|(k, t)| (k, ex(t.total)))
            .collect(),
        unallocated: ex(exact.unallocated),
        total: ex(exact.total),
    })
}

// ---------------------------------------------------------------------------
// Exact computation
//
// Every exact amount is an integer numerator over one common denominator
// `denom = 10^scale * lcm(denominators of the rules' fractions)`, so sums are
// plain integer additions and the rounding compares integer remainders.

/// Which fraction of a group's cost a route carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Frac {
    /// All of it.
    Whole,
    /// `percentage / 100` of rule `i`.
    Moved(usize),
    /// `(100 - percentage) / 100` of rule `i`.
    Kept(usize),
    /// `weight / sum of weights` of split target `j` of rule `i`.
    Split(usize, usize),
}

/// Where a route takes cost.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Dest<'a> {
    Target(&'a str),
    Unallocated,
}

/// Numerators over [`ExactAllocation::denom`].
#[derive(Default)]
struct ExactTarget {
    total: BigInt,
    by_provider: BTreeMap<String, BigInt>,
    by_model: BTreeMap<String, BigInt>,
}

struct ExactAllocation {
    /// The common denominator (positive).
    denom: BigInt,
    targets: BTreeMap<String, ExactTarget>,
    unallocated: BigInt,
    total: BigInt,
}

/// A fraction `num / den` with `den > 0`.
struct Fraction {
    num: BigInt,
    den: BigInt,
}

/// Exact fractions of each rule, indexed like the rules.
struct RuleFracs {
    moved: Fraction,
    kept: Fraction,
    split: Vec<Fraction>,
}

fn rule_fracs(rule: &AllocationRule) -> RuleFracs {
    // percentage = m / 10^s, so the share moved is m / (100 * 10^s).
    let pct = rule.percentage.unwrap_or(Decimal::ONE_HUNDRED);
    let den = pow10(pct.scale() + 2);
    let moved = BigInt::from(pct.mantissa());
    let kept = &den - &moved;
    let split = match &rule.split {
        Some(split) => {
            let scale = split.iter().map(|s| s.weight.scale()).max().unwrap_or(0);
            let weights: Vec<BigInt> = split
                .iter()
                .map(|s| {
                    if s.weight > Decimal::ZERO {
                        BigInt::from(s.weight.mantissa()) * pow10(scale - s.weight.scale())
                    } else {
                        BigInt::zero()
                    }
                })
                .collect();
            let sum: BigInt = weights.iter().sum();
            let sum = if sum.is_positive() {
                sum
            } else {
                BigInt::one()
            };
            weights
                .into_iter()
                .map(|w| Fraction {
                    num: w,
                    den: sum.clone(),
                })
                .collect()
        }
        None => Vec::new(),
    };
    RuleFracs {
        moved: Fraction {
            num: moved,
            den: den.clone(),
        },
        kept: Fraction { num: kept, den },
        split,
    }
}

type GroupKey<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);
type PartKey<'a> = (Dest<'a>, Frac, Option<&'a str>);

fn overflow(field: impl Into<String>) -> Error {
    Error::invalid(
        field,
        "amounts add up beyond the decimal range (about 7.9e28)",
    )
}

/// Numerators of one target while summing, keyed by borrowed names.
#[derive(Default)]
struct Acc<'a> {
    total: BigInt,
    by_provider: FxHashMap<Option<&'a str>, BigInt>,
    by_model: FxHashMap<Option<&'a str>, BigInt>,
}

fn compute(config: &ChargebackConfiguration, rows: &[CostRow]) -> Result<ExactAllocation> {
    config.validate()?;
    let basis = config.basis_dimension().ok_or_else(|| {
        Error::invalid(
            "customTagKey",
            "a `custom` allocation basis needs the tag key to allocate by",
        )
    })?;
    let rules = &config.allocation_rules;
    let rule_of: FxHashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.source.as_str(), i))
        .collect();

    // 1. The hot loop: one exact sum per (key, provider, model).
    let mut groups: FxHashMap<GroupKey<'_>, Decimal> = FxHashMap::default();
    for (i, row) in rows.iter().enumerate() {
        if let Some(c) = row.currency {
            if c != config.currency {
                return Err(Error::invalid(
                    format!("rows[{i}].currency"),
                    format!(
                        "the row is in {c} but the configuration allocates {}; \
                         convert it first, currencies are never mixed",
                        config.currency
                    ),
                ));
            }
        }
        let key = (
            row.dimension(&basis),
            row.provider.as_deref().filter(|s| !s.is_empty()),
            row.model.as_deref().filter(|s| !s.is_empty()),
        );
        let sum = groups.entry(key).or_insert(Decimal::ZERO);
        *sum = sum
            .checked_add(row.cost)
            .ok_or_else(|| overflow(format!("rows[{i}].cost")))?;
    }
    let mut groups: Vec<(GroupKey<'_>, Decimal)> = groups.into_iter().collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    // 2. Route every group, summing exactly per (destination, fraction) and
    //    per provider and model.
    let fracs: Vec<RuleFracs> = rules.iter().map(rule_fracs).collect();
    let mut total = Decimal::ZERO;
    let mut tot: FxHashMap<(Dest<'_>, Frac), Decimal> = FxHashMap::default();
    let mut byp: FxHashMap<PartKey<'_>, Decimal> = FxHashMap::default();
    let mut bym: FxHashMap<PartKey<'_>, Decimal> = FxHashMap::default();
    let mut routes: Vec<(Dest<'_>, Frac)> = Vec::new();
    for &((key, provider, model), cost) in &groups {
        total = total.checked_add(cost).ok_or_else(|| overflow("rows"))?;
        routes.clear();
        let own = key.map_or(Dest::Unallocated, Dest::Target);
        match rule_of.get(key.unwrap_or("")).map(|&i| (i, &rules[i])) {
            None => routes.push((own, Frac::Whole)),
            Some((i, rule)) => {
                let f = &fracs[i];
                if let Some(t) = rule.target.as_deref() {
                    if !f.moved.num.is_zero() {
                        routes.push((Dest::Target(t), Frac::Moved(i)));
                    }
                    if !f.kept.num.is_zero() {
                        routes.push((own, Frac::Kept(i)));
                    }
                } else if let Some(split) = &rule.split {
                    for (j, s) in split.iter().enumerate() {
                        if f.split.get(j).is_some_and(|w| !w.num.is_zero()) {
                            routes.push((Dest::Target(s.target.as_str()), Frac::Split(i, j)));
                        }
                    }
                }
            }
        }
        for &(dest, frac) in &routes {
            add(&mut tot, (dest, frac), cost)?;
            if let Dest::Target(_) = dest {
                add(&mut byp, (dest, frac, provider), cost)?;
                add(&mut bym, (dest, frac, model), cost)?;
            }
        }
    }

    // 3. The common denominator: 10^scale of the sums times the lcm of the
    //    fractions' denominators; each fraction becomes an integer factor.
    let one = Fraction {
        num: BigInt::one(),
        den: BigInt::one(),
    };
    let fraction = |f: Frac| -> &Fraction {
        match f {
            Frac::Whole => &one,
            Frac::Moved(i) => fracs.get(i).map_or(&one, |r| &r.moved),
            Frac::Kept(i) => fracs.get(i).map_or(&one, |r| &r.kept),
            Frac::Split(i, j) => fracs.get(i).and_then(|r| r.split.get(j)).unwrap_or(&one),
        }
    };
    let mut lcm = BigInt::one();
    let mut used: Vec<Frac> = tot.keys().map(|k| k.1).collect();
    used.sort_unstable();
    used.dedup();
    for &f in &used {
        lcm = lcm.lcm(&fraction(f).den);
    }
    let factors: FxHashMap<Frac, BigInt> = used
        .iter()
        .map(|&f| {
            let fr = fraction(f);
            (f, &fr.num * (&lcm / &fr.den))
        })
        .collect();
    let scale = tot
        .values()
        .chain(byp.values())
        .chain(bym.values())
        .map(Decimal::scale)
        .chain([total.scale()])
        .max()
        .unwrap_or(0);
    let pows: Vec<BigInt> = (0..=scale).map(pow10).collect();
    let units = |d: Decimal| -> BigInt {
        let shift = scale.saturating_sub(d.scale()) as usize;
        let p = pows
            .get(shift)
            .cloned()
            .unwrap_or_else(|| pow10(shift as u32));
        BigInt::from(d.mantissa()) * p
    };
    let factor = |f: Frac| factors.get(&f).cloned().unwrap_or_default();

    let mut accs: FxHashMap<&str, Acc<'_>> = FxHashMap::default();
    let mut unallocated = BigInt::zero();
    for (&(dest, frac), &sum) in &tot {
        let v = units(sum) * factor(frac);
        match dest {
            Dest::Target(t) => accs.entry(t).or_default().total += v,
            Dest::Unallocated => unallocated += v,
        }
    }
    for (&(dest, frac, provider), &sum) in &byp {
        if let Dest::Target(t) = dest {
            let v = units(sum) * factor(frac);
            *accs
                .entry(t)
                .or_default()
                .by_provider
                .entry(provider)
                .or_default() += v;
        }
    }
    for (&(dest, frac, model), &sum) in &bym {
        if let Dest::Target(t) = dest {
            let v = units(sum) * factor(frac);
            *accs
                .entry(t)
                .or_default()
                .by_model
                .entry(model)
                .or_default() += v;
        }
    }
    let named = |m: FxHashMap<Option<&str>, BigInt>| {
        let mut out: BTreeMap<String, BigInt> = BTreeMap::new();
        for (k, v) in m {
            *out.entry(k.unwrap_or(UNKNOWN).to_owned()).or_default() += v;
        }
        out
    };
    let targets = accs
        .into_iter()
        .map(|(name, a)| {
            (
                name.to_owned(),
                ExactTarget {
                    total: a.total,
                    by_provider: named(a.by_provider),
                    by_model: named(a.by_model),
                },
            )
        })
        .collect();
    Ok(ExactAllocation {
        total: units(total) * &lcm,
        denom: pow10(scale) * lcm,
        targets,
        unallocated,
    })
}

fn add<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, Decimal>, k: K, v: Decimal) -> Result<()> {
    let slot = map.entry(k).or_insert(Decimal::ZERO);
    *slot = slot.checked_add(v).ok_or_else(|| overflow("rows"))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Rounding

fn round(currency: Currency, exact: ExactAllocation) -> Result<Allocation> {
    let dp = currency.minor_units().min(28);
    let unit = pow10(dp);
    let denom = &exact.denom;
    // Numerators over `denom`, scaled to minor units.
    let in_units = |n: &BigInt| n * &unit;
    let total_units = round_half_away(&in_units(&exact.total), denom);
    let mut unallocated_units = round_half_away(&in_units(&exact.unallocated), denom);
    let mut allocated_units = &total_units - &unallocated_units;
    if exact.targets.is_empty() {
        // With no target everything is unallocated (exactly so: then the
        // exact unallocated amount is the total).
        unallocated_units = total_units.clone();
        allocated_units = BigInt::zero();
    }

    let names: Vec<&str> = exact.targets.keys().map(String::as_str).collect();
    let shares: Vec<BigInt> = exact.targets.values().map(|t| in_units(&t.total)).collect();
    let per_target = apportion(&allocated_units, &names, &shares, denom);

    let mut allocations = BTreeMap::new();
    for ((name, t), units) in exact.targets.iter().zip(per_target) {
        let by_provider = apportion_map(&units, &t.by_provider, &in_units, denom, dp)?;
        let by_model = apportion_map(&units, &t.by_model, &in_units, denom, dp)?;
        allocations.insert(
            name.clone(),
            ChargebackAllocation {
                total_cost: to_decimal(&units, dp)?,
                breakdown: AllocationBreakdown {
                    by_provider,
                    by_model,
                },
            },
        );
    }
    Ok(Allocation {
        allocations,
        total_cost: to_decimal(&total_units, dp)?,
        allocated_cost: to_decimal(&allocated_units, dp)?,
        unallocated_cost: to_decimal(&unallocated_units, dp)?,
        currency,
    })
}

fn apportion_map(
    units: &BigInt,
    parts: &BTreeMap<String, BigInt>,
    in_units: &impl Fn(&BigInt) -> BigInt,
    denom: &BigInt,
    dp: u32,
) -> Result<BTreeMap<String, Decimal>> {
    if parts.is_empty() {
        // Unreachable (every target has rows), but keep the sum exact anyway.
        return Ok(BTreeMap::from([(
            UNKNOWN.to_owned(),
            to_decimal(units, dp)?,
        )]));
    }
    let names: Vec<&str> = parts.keys().map(String::as_str).collect();
    let values: Vec<BigInt> = parts.values().map(in_units).collect();
    names
        .iter()
        .zip(apportion(units, &names, &values, denom))
        .map(|(n, u)| Ok(((*n).to_owned(), to_decimal(&u, dp)?)))
        .collect()
}

/// Largest-remainder apportionment of `total` whole units among `parts`
/// (exact amounts in units, as numerators over `denom > 0`): each part gets
/// its floor, the units left go one each to the largest remainders, ties by
/// name ascending. The result sums to `total` exactly whatever the parts (if
/// the floors overshoot or fall short by more than one unit per part, every
/// part first takes or gives an equal number of units). `names` and `parts`
/// have the same length; an empty list gets nothing.
fn apportion(total: &BigInt, names: &[&str], parts: &[BigInt], denom: &BigInt) -> Vec<BigInt> {
    let n = parts.len();
    if n == 0 {
        return Vec::new();
    }
    let (floors, rems): (Vec<BigInt>, Vec<BigInt>) =
        parts.iter().map(|p| p.div_mod_floor(denom)).unzip();
    let left = total - floors.iter().sum::<BigInt>();
    let (each, extra) = left.div_mod_floor(&BigInt::from(n));
    // 0 <= extra < n
    let extra = extra.to_usize().unwrap_or(0);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| match rems.get(b).cmp(&rems.get(a)) {
        Ordering::Equal => names.get(a).cmp(&names.get(b)),
        other => other,
    });
    let mut out: Vec<BigInt> = floors.into_iter().map(|f| f + &each).collect();
    for &i in order.iter().take(extra) {
        if let Some(o) = out.get_mut(i) {
            *o += 1;
        }
    }
    out
}

/// `n / denom` rounded half away from zero (`denom > 0`).
fn round_half_away(n: &BigInt, denom: &BigInt) -> BigInt {
    let twice: BigInt = denom * 2;
    let magnitude: BigInt = n.abs() * 2 + denom;
    let rounded = magnitude.div_floor(&twice);
    if n.is_negative() {
        -rounded
    } else {
        rounded
    }
}

fn to_decimal(units: &BigInt, dp: u32) -> Result<Decimal> {
    units
        .to_i128()
        .and_then(|u| Decimal::try_from_i128_with_scale(u, dp).ok())
        .ok_or_else(|| overflow("rows"))
}

fn pow10(exp: u32) -> BigInt {
    num_traits::pow(BigInt::from(10), exp as usize)
}

fn rational(d: Decimal) -> BigRational {
    BigRational::new(BigInt::from(d.mantissa()), pow10(d.scale()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        AllocationBasis, ChargebackConfigId, ChargebackFrequency, Dimension, OrganizationId,
        SplitTarget,
    };
    use chrono::DateTime;
    use rust_decimal_macros::dec;

    fn config(rules: Vec<AllocationRule>) -> ChargebackConfiguration {
        ChargebackConfiguration {
            id: ChargebackConfigId::new(),
            organization_id: OrganizationId::new(),
            name: "Monthly".into(),
            description: None,
            allocation_basis: AllocationBasis::Team,
            custom_tag_key: None,
            allocation_rules: rules,
            report_frequency: ChargebackFrequency::Monthly,
            include_breakdown_by: vec![Dimension::Provider, Dimension::Model],
            currency: Currency::USD,
            requires_approval: false,
            approvers: vec![],
            auto_distribute: false,
            distribution_list: vec![],
            is_active: true,
            created_by: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn row(team: Option<&str>, provider: &str, model: &str, cost: Decimal) -> CostRow {
        CostRow {
            date: "2026-10-01".parse().unwrap(),
            team: team.map(Into::into),
            provider: Some(provider.into()).filter(|p: &String| !p.is_empty()),
            model: Some(model.into()).filter(|m: &String| !m.is_empty()),
            cost,
            ..Default::default()
        }
    }

    fn target(source: &str, target: &str, pct: Option<Decimal>) -> AllocationRule {
        AllocationRule {
            source: source.into(),
            target: Some(target.into()),
            percentage: pct,
            split: None,
        }
    }

    fn split(source: &str, parts: &[(&str, Decimal)]) -> AllocationRule {
        AllocationRule {
            source: source.into(),
            split: Some(
                parts
                    .iter()
                    .map(|(t, w)| SplitTarget {
                        target: (*t).into(),
                        weight: *w,
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn assert_identities(a: &Allocation) {
        let sum: Decimal = a.allocations.values().map(|x| x.total_cost).sum();
        assert_eq!(sum, a.allocated_cost);
        assert_eq!(sum + a.unallocated_cost, a.total_cost);
        for x in a.allocations.values() {
            assert_eq!(
                x.breakdown.by_provider.values().sum::<Decimal>(),
                x.total_cost
            );
            assert_eq!(x.breakdown.by_model.values().sum::<Decimal>(), x.total_cost);
        }
    }

    #[test]
    fn a_three_way_equal_split_of_one_dollar_gives_the_extra_cent_by_name() {
        let c = config(vec![split(
            "",
            &[("c", dec!(1)), ("a", dec!(1)), ("b", dec!(1))],
        )]);
        let a = allocate(&c, &[row(None, "openai", "gpt-4o", dec!(1.00))]).unwrap();
        assert_identities(&a);
        assert_eq!(a.allocations["a"].total_cost, dec!(0.34));
        assert_eq!(a.allocations["b"].total_cost, dec!(0.33));
        assert_eq!(a.allocations["c"].total_cost, dec!(0.33));
        assert_eq!(a.total_cost, dec!(1.00));
        assert_eq!(a.unallocated_cost, dec!(0.00));
        let u = unrounded(&c, &[row(None, "openai", "gpt-4o", dec!(1.00))]).unwrap();
        assert_eq!(u.targets["a"].to_string(), "1/3");
        assert_eq!(u.targets["a"].to_decimal(), None);
    }

    #[test]
    fn percentage_moves_a_share_and_the_rest_stays_with_the_source() {
        let c = config(vec![target("search", "platform", Some(dec!(25)))]);
        let rows = [
            row(Some("search"), "openai", "gpt-4o", dec!(10.00)),
            row(Some("ads"), "anthropic", "claude", dec!(3.333)),
            row(None, "openai", "gpt-4o", dec!(0.50)),
        ];
        let a = allocate(&c, &rows).unwrap();
        assert_identities(&a);
        assert_eq!(a.allocations["platform"].total_cost, dec!(2.50));
        assert_eq!(a.allocations["search"].total_cost, dec!(7.50));
        assert_eq!(a.allocations["ads"].total_cost, dec!(3.33));
        assert_eq!(a.unallocated_cost, dec!(0.50));
        assert_eq!(a.total_cost, dec!(13.83));
        assert_eq!(a.allocated_cost, dec!(13.33));
        assert_eq!(
            a.allocations["ads"].breakdown.by_model["claude"],
            dec!(3.33)
        );
    }

    #[test]
    fn untagged_remainder_of_a_shared_rule_stays_unallocated() {
        let c = config(vec![target("", "shared", Some(dec!(40)))]);
        let a = allocate(&c, &[row(None, "openai", "gpt-4o", dec!(10))]).unwrap();
        assert_eq!(a.allocations["shared"].total_cost, dec!(4.00));
        assert_eq!(a.unallocated_cost, dec!(6.00));
        assert_eq!(a.total_cost, dec!(10.00));
        assert_identities(&a);
    }

    #[test]
    fn rounding_half_away_and_largest_remainder_with_credits() {
        // Total 0.005 rounds to 0.01; the credit target gets its floor.
        let c = config(vec![]);
        let rows = [
            row(Some("a"), "openai", "m1", dec!(0.012)),
            row(Some("b"), "openai", "m1", dec!(-0.007)),
        ];
        let a = allocate(&c, &rows).unwrap();
        assert_identities(&a);
        assert_eq!(a.total_cost, dec!(0.01));
        // floors: a 0.01 (rem 0.2 units), b -0.01 (rem 0.3 units): one unit
        // left goes to b.
        assert_eq!(a.allocations["a"].total_cost, dec!(0.01));
        assert_eq!(a.allocations["b"].total_cost, dec!(0.00));
        let neg = allocate(&c, &[row(Some("a"), "x", "y", dec!(-0.125))]).unwrap();
        assert_eq!(neg.total_cost, dec!(-0.13));
        assert_eq!(neg.allocations["a"].total_cost, dec!(-0.13));
    }

    #[test]
    fn breakdown_uses_unknown_and_sums_exactly() {
        let c = config(vec![split("", &[("x", dec!(1)), ("y", dec!(2))])]);
        let rows = [
            row(None, "openai", "gpt-4o", dec!(0.01)),
            row(None, "", "", dec!(0.01)),
            row(None, "anthropic", "claude", dec!(0.01)),
        ];
        let a = allocate(&c, &rows).unwrap();
        assert_identities(&a);
        assert_eq!(a.allocations["x"].total_cost, dec!(0.01));
        assert_eq!(a.allocations["y"].total_cost, dec!(0.02));
        let y = &a.allocations["y"].breakdown;
        assert_eq!(y.by_provider.len(), 3);
        assert!(y.by_provider.contains_key(UNKNOWN));
        // y's exact providers are 2/300 each: ties by name give the two
        // cents to anthropic and openai.
        assert_eq!(y.by_provider["anthropic"], dec!(0.01));
        assert_eq!(y.by_provider["openai"], dec!(0.01));
        assert_eq!(y.by_provider[UNKNOWN], dec!(0.00));
    }

    #[test]
    fn currencies_use_their_minor_unit() {
        let mut c = config(vec![split("", &[("a", dec!(1)), ("b", dec!(1))])]);
        c.currency = Currency::JPY;
        let a = allocate(&c, &[row(None, "p", "m", dec!(101))]).unwrap();
        assert_eq!(a.allocations["a"].total_cost, dec!(51));
        assert_eq!(a.allocations["b"].total_cost, dec!(50));
        assert_eq!(a.total_cost.scale(), 0);
        c.currency = Currency::parse("KWD").unwrap();
        let a = allocate(&c, &[row(None, "p", "m", dec!(1.0005))]).unwrap();
        assert_eq!(a.total_cost, dec!(1.001));
        assert_eq!(
            a.allocations["a"].total_cost + a.allocations["b"].total_cost,
            dec!(1.001)
        );
        assert_eq!(a.total_cost.to_string(), "1.001");
    }

    #[test]
    fn other_currency_rows_are_an_error() {
        let c = config(vec![]);
        let mut r = row(Some("a"), "p", "m", dec!(1));
        r.currency = Some(Currency::EUR);
        let ok = row(Some("a"), "p", "m", dec!(1));
        let e = allocate(&c, &[ok.clone(), r]).unwrap_err();
        assert_eq!(e.field(), Some("rows[1].currency"));
        let mut usd = ok;
        usd.currency = Some(Currency::USD);
        assert!(allocate(&c, &[usd]).is_ok());
    }

    #[test]
    fn overflow_is_invalid_not_a_panic() {
        let c = config(vec![]);
        let rows = [
            row(Some("a"), "p", "m", Decimal::MAX),
            row(Some("a"), "p", "m", Decimal::MAX),
        ];
        assert_eq!(
            allocate(&c, &rows).unwrap_err().field(),
            Some("rows[1].cost")
        );
        // One huge row: its total in cents no longer fits a decimal.
        assert_eq!(allocate(&c, &rows[..1]).unwrap_err().field(), Some("rows"));
        let big = dec!(79_228_162_514_264_337_593_543_950.33);
        let a = allocate(&c, &[row(Some("a"), "p", "m", big)]).unwrap();
        assert_eq!(a.total_cost, big);
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Exact>();
        check::<UnroundedAllocation>();
    }

    #[test]
    fn exact_values_print_and_convert() {
        let third = Exact(BigRational::new(BigInt::from(1), BigInt::from(3)));
        assert_eq!(third.to_string(), "1/3");
        assert_eq!(third.to_decimal(), None);
        let e = Exact::from_decimal(dec!(-12.50));
        assert_eq!(e.to_decimal(), Some(dec!(-12.5)));
        assert_eq!(e.to_string(), "-12.5");
        assert!(e.is_negative());
        assert_eq!(e.scaled(dec!(2)), Exact::from_decimal(dec!(-25)));
        assert_eq!(format!("{:?}", Exact::zero()), "Exact(0)");
    }

    #[test]
    fn apportion_handles_any_gap() {
        let parts = [BigInt::from(3), BigInt::from(3)];
        let three = BigInt::from(3);
        let out = apportion(&BigInt::from(7), &["a", "b"], &parts, &three);
        assert_eq!(out, vec![BigInt::from(4), BigInt::from(3)]);
        let out = apportion(&BigInt::from(-3), &["a", "b"], &parts, &three);
        assert_eq!(out, vec![BigInt::from(-1), BigInt::from(-2)]);
    }
}
