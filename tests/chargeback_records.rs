//! Chargeback records through the engine with the in-memory backends and a
//! manual clock: one record per period, the approval workflow, and the
//! periodic job.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal_macros::dec;
use serde_json::json;
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
use tokentra_reports::engine::Engine;
use tokentra_reports::model::{
    ChargebackConfiguration, ChargebackStatus, CostRow, DateRange, OrganizationId, UserId,
};
use tokentra_reports::ports::{ChargebackStore, ReportStore};
use tokentra_reports::Error;

struct World {
    engine: Engine,
    store: Arc<MemoryStore>,
    costs: MemoryCostSource,
    clock: ManualClock,
    org: OrganizationId,
    approver: UserId,
}

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

fn october() -> DateRange {
    DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap()
}

fn world() -> World {
    let org = OrganizationId::new();
    let rows: Vec<CostRow> = serde_json::from_value(json!([
        {"date":"2026-10-01","provider":"openai","model":"gpt-4o","team":"search","cost":"10.005"},
        {"date":"2026-10-15","provider":"anthropic","model":"claude","team":"ads","cost":"5"},
        {"date":"2026-10-20","provider":"openai","model":"gpt-4o","cost":"3"},
        {"date":"2026-11-02","provider":"openai","model":"gpt-4o","team":"search","cost":"100"},
        {"date":"2026-12-05","provider":"openai","model":"gpt-4o","team":"ads","cost":"7"}
    ]))
    .unwrap();
    let costs = MemoryCostSource::with_rows(org, rows);
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(at(2026, 11, 1, 6));
    let engine = Engine::builder()
        .cost_source(Arc::new(costs.clone()))
        .store(store.clone() as Arc<dyn ReportStore>)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    World {
        engine,
        store,
        costs,
        clock,
        org,
        approver: UserId::new(),
    }
}

fn configuration(w: &World, extra: serde_json::Value) -> ChargebackConfiguration {
    let mut c: ChargebackConfiguration = serde_json::from_value(json!({
        "id": uuid_like(),
        "organizationId": w.org,
        "name": "Teams",
        "allocationBasis": "team",
        "allocationRules": [{"source": "", "split": [{"target": "search", "weight": 1}, {"target": "ads", "weight": 1}]}],
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    let mut v = serde_json::to_value(&c).unwrap();
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in e {
            o.insert(k.clone(), val.clone());
        }
    }
    c = serde_json::from_value(v).unwrap();
    c
}

fn uuid_like() -> String {
    tokentra_reports::model::ChargebackConfigId::new().to_string()
}

async fn with_config(w: &World, extra: serde_json::Value) -> ChargebackConfiguration {
    let c = configuration(w, extra);
    w.store.create_chargeback_config(w.org, &c).await.unwrap();
    c
}

#[tokio::test]
async fn generating_stores_one_record_and_a_second_time_conflicts() {
    let w = world();
    let c = with_config(&w, json!({})).await;
    let r = w
        .engine
        .generate_chargeback_record(w.org, c.id, october(), false)
        .await
        .unwrap();
    // No approval needed: approved at once, stamped by the clock, nobody
    // named as approver.
    assert_eq!(r.status, ChargebackStatus::Approved);
    assert_eq!(r.approved_at, Some(at(2026, 11, 1, 6)));
    assert_eq!(r.approved_by, None);
    // Its chargeback report was generated and linked.
    assert!(r.report_id.is_some());
    assert_eq!(r.allocation.total_cost, dec!(18.01));
    assert_eq!(r.allocation.allocations["search"].total_cost, dec!(11.51));
    assert_eq!(r.allocation.allocations["ads"].total_cost, dec!(6.50));
    assert_eq!(r.allocation.unallocated_cost, dec!(0.00));
    assert_eq!(
        r.allocation.allocations["search"].breakdown.by_model["gpt-4o"],
        dec!(11.51)
    );
    let stored = w.store.get_chargeback_record(w.org, r.id).await.unwrap();
    assert_eq!(stored, r);

    for regenerate in [false, true] {
        match w
            .engine
            .generate_chargeback_record(w.org, c.id, october(), regenerate)
            .await
        {
            Err(Error::Conflict(m)) => assert!(m.contains("approved"), "{m}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
    assert_eq!(
        w.store
            .list_chargeback_records(w.org, Some(c.id))
            .await
            .unwrap()
            .len(),
        1
    );
    // The record's JSON is the specification's: allocation fields flattened.
    let v = serde_json::to_value(&stored).unwrap();
    assert_eq!(v["status"], "approved");
    assert_eq!(v["totalCost"].to_string(), "18.01");
    assert_eq!(
        v["allocations"]["ads"]["breakdown"]["byProvider"]["anthropic"].to_string(),
        "5.00"
    );
    assert!(v["configId"].is_string());
    assert!(v["orgId"].is_string());
}

#[tokio::test]
async fn approval_by_approvers_only_and_only_once() {
    let w = world();
    let c = with_config(
        &w,
        json!({"requiresApproval": true, "approvers": [w.approver]}),
    )
    .await;
    let r = w
        .engine
        .generate_chargeback_record(w.org, c.id, october(), false)
        .await
        .unwrap();
    assert_eq!(r.status, ChargebackStatus::PendingApproval);
    assert_eq!(r.approved_at, None);

    let stranger = UserId::new();
    assert!(matches!(
        w.engine
            .approve_chargeback_record(w.org, r.id, stranger)
            .await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        w.engine
            .reject_chargeback_record(w.org, r.id, stranger, "no")
            .await,
        Err(Error::PermissionDenied(_))
    ));
    match w
        .engine
        .reject_chargeback_record(w.org, r.id, w.approver, "  ")
        .await
    {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "reason"),
        other => panic!("{other:?}"),
    }

    w.clock.set(at(2026, 11, 3, 14));
    let approved = w
        .engine
        .approve_chargeback_record(w.org, r.id, w.approver)
        .await
        .unwrap();
    assert_eq!(approved.status, ChargebackStatus::Approved);
    assert_eq!(approved.approved_by, Some(w.approver));
    assert_eq!(approved.approved_at, Some(at(2026, 11, 3, 14)));
    assert_eq!(approved.updated_at, at(2026, 11, 3, 14));
    assert_eq!(
        w.store.get_chargeback_record(w.org, r.id).await.unwrap(),
        approved
    );

    // Final: neither approve nor reject again.
    assert!(matches!(
        w.engine
            .approve_chargeback_record(w.org, r.id, w.approver)
            .await,
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        w.engine
            .reject_chargeback_record(w.org, r.id, w.approver, "late")
            .await,
        Err(Error::InvalidState(_))
    ));
    // Another organization cannot see it.
    assert!(matches!(
        w.engine
            .approve_chargeback_record(OrganizationId::new(), r.id, w.approver)
            .await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_rejected_record_is_final_until_regenerated() {
    let w = world();
    let c = with_config(
        &w,
        json!({"requiresApproval": true, "approvers": [w.approver]}),
    )
    .await;
    let r = w
        .engine
        .generate_chargeback_record(w.org, c.id, october(), false)
        .await
        .unwrap();
    let rejected = w
        .engine
        .reject_chargeback_record(w.org, r.id, w.approver, " wrong split ")
        .await
        .unwrap();
    assert_eq!(rejected.status, ChargebackStatus::Rejected);
    assert_eq!(rejected.rejected_by, Some(w.approver));
    assert_eq!(rejected.rejection_reason.as_deref(), Some("wrong split"));
    assert!(matches!(
        w.engine
            .approve_chargeback_record(w.org, r.id, w.approver)
            .await,
        Err(Error::InvalidState(_))
    ));
    // Without asking to regenerate: conflict.
    assert!(matches!(
        w.engine
            .generate_chargeback_record(w.org, c.id, october(), false)
            .await,
        Err(Error::Conflict(_))
    ));
    // Late cost data arrives; regenerate replaces the record in place.
    w.costs.insert(
        w.org,
        serde_json::from_value::<Vec<CostRow>>(json!([
            {"date":"2026-10-31","team":"ads","cost":"1"}
        ]))
        .unwrap(),
    );
    w.clock.set(at(2026, 11, 4, 9));
    let again = w
        .engine
        .generate_chargeback_record(w.org, c.id, october(), true)
        .await
        .unwrap();
    assert_eq!(again.id, r.id);
    assert_eq!(again.created_at, r.created_at);
    assert_eq!(again.updated_at, at(2026, 11, 4, 9));
    assert_eq!(again.status, ChargebackStatus::PendingApproval);
    assert_eq!(again.rejection_reason, None);
    assert_eq!(again.rejected_by, None);
    assert_eq!(again.allocation.total_cost, dec!(19.01));
    let all = w.store.list_chargeback_records(w.org, None).await.unwrap();
    assert_eq!(all, vec![again.clone()]);
    // Pending now: regenerating is a conflict.
    assert!(matches!(
        w.engine
            .generate_chargeback_record(w.org, c.id, october(), true)
            .await,
        Err(Error::Conflict(_))
    ));
}

#[tokio::test]
async fn cost_data_in_another_currency_is_refused() {
    let w = world();
    let c = with_config(&w, json!({"currency": "EUR"})).await;
    match w
        .engine
        .generate_chargeback_record(w.org, c.id, october(), false)
        .await
    {
        Err(Error::Invalid { field, reason }) => {
            assert_eq!(field, "currency");
            assert!(reason.contains("USD"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(w
        .store
        .list_chargeback_records(w.org, None)
        .await
        .unwrap()
        .is_empty());
    let e = w
        .engine
        .generate_chargeback_record(
            w.org,
            tokentra_reports::model::ChargebackConfigId::new(),
            october(),
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn the_periodic_job_produces_last_period_once() {
    let w = world();
    let monthly = with_config(&w, json!({"name": "Monthly"})).await;
    let quarterly = with_config(
        &w,
        json!({"name": "Quarterly", "reportFrequency": "quarterly", "allocationBasis": "project",
               "allocationRules": []}),
    )
    .await;
    let inactive = with_config(&w, json!({"name": "Off", "isActive": false})).await;

    // 1 November: October closed (monthly); the third quarter closed on
    // 1 October, when the job did not run: it is caught up now.
    let run = w.engine.process_periodic_chargebacks().await.unwrap();
    assert_eq!(run.created.len(), 2);
    assert_eq!(run.created[0].configuration_id, monthly.id);
    assert_eq!(run.created[0].period_start.to_string(), "2026-10-01");
    assert_eq!(run.created[0].period_end.to_string(), "2026-10-31");
    assert_eq!(run.created[0].allocation.total_cost, dec!(18.01));
    assert_eq!(run.created[1].configuration_id, quarterly.id);
    assert_eq!(run.created[1].period_start.to_string(), "2026-07-01");
    assert_eq!(run.created[1].period_end.to_string(), "2026-09-30");
    assert_eq!(run.not_due, 0);
    assert_eq!(run.existing, 0);
    assert!(run.failed.is_empty());

    // Later the same day, and the next day: nothing new, never twice.
    for t in [at(2026, 11, 1, 23), at(2026, 11, 2, 6)] {
        w.clock.set(t);
        let again = w.engine.process_periodic_chargebacks().await.unwrap();
        assert!(again.created.is_empty());
        assert_eq!(again.existing, 2);
    }
    assert_eq!(
        w.store
            .list_chargeback_records(w.org, None)
            .await
            .unwrap()
            .len(),
        2
    );

    // The job does not run in December; on 3 January it makes December
    // (monthly) and Q4 (quarterly) once: November, never made, is older
    // than the latest closed month and stays a manual regeneration.
    w.clock.set(at(2027, 1, 3, 0));
    let new_year = w.engine.process_periodic_chargebacks().await.unwrap();
    assert_eq!(new_year.created.len(), 2);
    let q = new_year
        .created
        .iter()
        .find(|r| r.configuration_id == quarterly.id)
        .unwrap();
    assert_eq!(q.period_start.to_string(), "2026-10-01");
    assert_eq!(q.period_end.to_string(), "2026-12-31");
    // Nobody has a project: all of Q4 is unallocated.
    assert_eq!(q.allocation.total_cost, dec!(125.01));
    assert_eq!(q.allocation.unallocated_cost, dec!(125.01));
    let m = new_year
        .created
        .iter()
        .find(|r| r.configuration_id == monthly.id)
        .unwrap();
    assert_eq!(m.period_start.to_string(), "2026-12-01");
    assert_eq!(m.allocation.allocations["ads"].total_cost, dec!(7.00));
    assert!(w
        .store
        .list_chargeback_records(w.org, Some(inactive.id))
        .await
        .unwrap()
        .is_empty());
    // A configuration created today has no closed period yet.
    let fresh = with_config(
        &w,
        json!({"name": "New", "createdAt": "2027-01-03T00:00:00Z", "updatedAt": "2027-01-03T00:00:00Z"}),
    )
    .await;
    let later = w.engine.process_periodic_chargebacks().await.unwrap();
    assert!(later.created.is_empty());
    assert_eq!(later.not_due, 1);
    assert!(w
        .store
        .list_chargeback_records(w.org, Some(fresh.id))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_periodic_job_reports_failures_and_goes_on() {
    let w = world();
    let eur = with_config(&w, json!({"name": "A euro one", "currency": "EUR"})).await;
    let ok = with_config(&w, json!({"name": "B dollars"})).await;
    let run = w.engine.process_periodic_chargebacks().await.unwrap();
    assert_eq!(run.created.len(), 1);
    assert_eq!(run.created[0].configuration_id, ok.id);
    assert_eq!(run.failed.len(), 1);
    assert_eq!(run.failed[0].configuration_id, eur.id);
    assert_eq!(run.failed[0].error.field(), Some("currency"));
}
