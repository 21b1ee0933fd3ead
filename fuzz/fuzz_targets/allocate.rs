//! Arbitrary configurations and rows into `core::allocate::allocate`: it must
//! never panic, may only fail with `Error::Invalid`, and every allocation it
//! returns must keep the identities exactly: the allocations plus the
//! unallocated cost make the total, and every `byProvider` / `byModel` map
//! sums to its allocation. Reversing the rows changes nothing.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use tokentra_reports::core::allocate::allocate;
use tokentra_reports::model::{
    AllocationBasis, AllocationRule, ChargebackConfiguration, CostRow, Currency, SplitTarget,
};
use tokentra_reports::Error;

const NAMES: [&str; 8] = ["", " ", "a", "b", "c", "x", "unknown", "CC-1"];
const CURRENCIES: [&str; 5] = ["USD", "EUR", "JPY", "KWD", "CLF"];

fn name(u: &mut Unstructured) -> Result<String> {
    Ok((*u.choose(&NAMES)?).to_owned())
}

fn opt_name(u: &mut Unstructured) -> Result<Option<String>> {
    Ok(if u.arbitrary()? { Some(name(u)?) } else { None })
}

fn decimal(u: &mut Unstructured) -> Result<Decimal> {
    let small: bool = u.arbitrary()?;
    let mantissa: i128 = if small {
        i128::from(u.arbitrary::<i32>()?)
    } else {
        u.arbitrary::<i128>()? >> 32
    };
    let scale = u.int_in_range(0..=28u32)?;
    Ok(Decimal::try_from_i128_with_scale(mantissa, scale).unwrap_or(Decimal::ONE))
}

fn rule(u: &mut Unstructured) -> Result<AllocationRule> {
    let source = name(u)?;
    Ok(if u.arbitrary()? {
        AllocationRule {
            source,
            target: Some(name(u)?),
            percentage: if u.arbitrary()? { Some(decimal(u)?) } else { None },
            split: None,
        }
    } else {
        let n = u.int_in_range(0..=4usize)?;
        let mut split = Vec::with_capacity(n);
        for _ in 0..n {
            split.push(SplitTarget {
                target: name(u)?,
                weight: decimal(u)?,
            });
        }
        AllocationRule {
            source,
            target: None,
            percentage: None,
            split: Some(split),
        }
    })
}

fn input(u: &mut Unstructured) -> Result<(ChargebackConfiguration, Vec<CostRow>)> {
    let mut config: ChargebackConfiguration = serde_json::from_str(
        r#"{"id":"6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e11",
            "organizationId":"6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e12","name":"fuzz",
            "createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}"#,
    )
    .expect("base configuration");
    config.allocation_basis = *u.choose(&[
        AllocationBasis::Team,
        AllocationBasis::Project,
        AllocationBasis::CostCenter,
        AllocationBasis::Custom,
    ])?;
    config.custom_tag_key = opt_name(u)?;
    config.currency = Currency::parse(u.choose(&CURRENCIES)?).expect("known code");
    let rules = u.int_in_range(0..=6usize)?;
    for _ in 0..rules {
        config.allocation_rules.push(rule(u)?);
    }
    let mut rows = Vec::new();
    while rows.len() < 64 && !u.is_empty() {
        let mut row = CostRow {
            date: "2026-10-01".parse().expect("date"),
            team: opt_name(u)?,
            project: opt_name(u)?,
            cost_center: opt_name(u)?,
            provider: opt_name(u)?,
            model: opt_name(u)?,
            cost: decimal(u)?,
            ..Default::default()
        };
        if let Some(k) = opt_name(u)? {
            row.tags.insert(k, name(u)?);
        }
        if u.ratio(1, 8)? {
            row.currency = Some(Currency::parse(u.choose(&CURRENCIES)?).expect("known code"));
        }
        rows.push(row);
    }
    Ok((config, rows))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((config, rows)) = input(&mut u) else {
        return;
    };
    match allocate(&config, &rows) {
        Ok(a) => {
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
            let mut reversed = rows.clone();
            reversed.reverse();
            // Order only matters when sums lose digits beyond 28 places.
            if rows.iter().all(|r| r.cost.scale() <= 12 && r.cost.abs() < Decimal::from(1_000_000_000_000i64)) {
                assert_eq!(allocate(&config, &reversed).expect("same rows"), a);
            }
        }
        Err(Error::Invalid { .. }) => {}
        Err(other) => panic!("allocate failed with a non-validation error: {other:?}"),
    }
});
