//! Chargeback reports: generated with each record, linked as `reportId`,
//! sent to the distribution list when approved (after approval when it is
//! required, never when rejected).

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use rust_decimal_macros::dec;
use serde_json::json;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
use tokentra_reports::ports::{ChargebackStore, GeneratedReportStore};

struct W {
    engine: Engine,
    store: MemoryStore,
    deliverer: RecordingDeliverer,
    org: OrganizationId,
}

fn world() -> W {
    let org = OrganizationId::new();
    let rows: Vec<CostRow> = serde_json::from_value(json!([
        {"date":"2026-10-01","provider":"openai","model":"gpt-4o","team":"search","cost":"10.005"},
        {"date":"2026-10-15","provider":"anthropic","model":"claude","team":"ads","cost":"5"},
        {"date":"2026-10-20","provider":"openai","model":"gpt-4o","cost":"3"}
    ]))
    .unwrap();
    let store = MemoryStore::new();
    let deliverer = RecordingDeliverer::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(store.clone()))
        .deliverer(Arc::new(deliverer.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap(),
        )))
        .build()
        .unwrap();
    W {
        engine,
        store,
        deliverer,
        org,
    }
}

async fn config(w: &W, requires_approval: bool, approver: UserId) -> ChargebackConfiguration {
    let c: ChargebackConfiguration = serde_json::from_value(json!({
        "id": ChargebackConfigId::new(),
        "organizationId": w.org,
        "name": "Teams",
        "allocationBasis": "team",
        "allocationRules": [{"source": "", "split": [{"target": "search", "weight": 1}, {"target": "ads", "weight": 1}]}],
        "includeBreakdownBy": ["team", "provider"],
        "requiresApproval": requires_approval,
        "approvers": [approver],
        "autoDistribute": true,
        "distributionList": ["finance@example.com", "cfo@example.com"],
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    w.store.create_chargeback_config(w.org, &c).await.unwrap();
    c
}

fn october() -> DateRange {
    DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap()
}

#[tokio::test]
async fn without_approval_the_report_is_generated_and_sent_at_once() {
    let w = world();
    let c = config(&w, false, UserId::new()).await;
    let r = w
        .engine
        .generate_chargeback_record(w.org, c.id, october(), false)
        .await
        .unwrap();
    let report_id = r.report_id.expect("linked report");
    let report = w.store.get_report(w.org, report_id).await.unwrap();
    assert_eq!(report.report_type, ReportType::Chargeback);
    assert_eq!(report.status, ReportStatus::Completed);
    assert_eq!(report.name, "Teams October 2026");
    assert_eq!(report.date_range, october());
    // PDF by default; JSON when the build has no PDF renderer.
    let art = w.store.get_artifact(w.org, report_id).await.unwrap();
    if cfg!(feature = "pdf") {
        assert_eq!(report.format, ReportFormat::Pdf);
        assert!(art.bytes.starts_with(b"%PDF-"));
        assert!(report.page_count.unwrap() >= 1);
        // The allocation is the statement's table (pdftotext is installed
        // by .ci/run).
        let path = std::env::temp_dir().join(format!("{report_id}.pdf"));
        std::fs::write(&path, &art.bytes).unwrap();
        let text = std::process::Command::new("pdftotext")
            .args([path.to_str().unwrap(), "-"])
            .output()
            .expect("pdftotext (poppler-utils) is needed by this test");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("Chargeback statement"), "{text}");
        assert!(text.contains("Charged to"), "{text}");
        assert!(text.contains("search") && text.contains("$11.51"), "{text}");
        assert!(text.contains("ties out to the cent"), "{text}");
        let _ = std::fs::remove_file(path);
    } else {
        assert_eq!(report.format, ReportFormat::Json);
        let doc: ReportDocument = serde_json::from_slice(&art.bytes).unwrap();
        let alloc = doc.chargeback.expect("allocation in the document");
        assert_eq!(alloc, r.allocation);
        let dims: Vec<_> = doc.breakdowns.iter().map(|b| b.dimension.clone()).collect();
        // The allocation first, then the configuration's includeBreakdownBy.
        assert_eq!(
            dims,
            vec![Dimension::Team, Dimension::Team, Dimension::Provider]
        );
        let labels: Vec<_> = doc.breakdowns[0]
            .items
            .iter()
            .map(|i| (i.label.as_str(), i.cost))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("search (allocated)", dec!(11.51)),
                ("ads (allocated)", dec!(6.50))
            ]
        );
    }
    assert_eq!(r.allocation.allocations["search"].total_cost, dec!(11.51));
    let sent: Vec<_> = w
        .deliverer
        .sent()
        .into_iter()
        .map(|d| d.recipient.address)
        .collect();
    assert_eq!(sent, vec!["finance@example.com", "cfo@example.com"]);
}

#[tokio::test]
async fn with_approval_it_is_sent_only_after_approval_and_never_when_rejected() {
    let w = world();
    let approver = UserId::new();
    let c = config(&w, true, approver).await;
    let r = w
        .engine
        .generate_chargeback_record(w.org, c.id, october(), false)
        .await
        .unwrap();
    assert_eq!(r.status, ChargebackStatus::PendingApproval);
    assert!(r.report_id.is_some());
    assert!(
        w.deliverer.sent().is_empty(),
        "nothing sent before approval"
    );
    let approved = w
        .engine
        .approve_chargeback_record(w.org, r.id, approver)
        .await
        .unwrap();
    assert_eq!(approved.status, ChargebackStatus::Approved);
    // The report is made again on approval, so its statement says who
    // approved it and when; the one made at submission stays archived.
    assert!(approved.report_id.is_some());
    assert_ne!(approved.report_id, r.report_id);
    let old = w
        .store
        .get_report(w.org, r.report_id.unwrap())
        .await
        .unwrap();
    assert_eq!(old.status, ReportStatus::Completed);
    assert_eq!(w.deliverer.sent().len(), 2);

    // A rejected record of another period is never sent.
    let w2 = world();
    let c2 = config(&w2, true, approver).await;
    let r2 = w2
        .engine
        .generate_chargeback_record(w2.org, c2.id, october(), false)
        .await
        .unwrap();
    w2.engine
        .reject_chargeback_record(w2.org, r2.id, approver, "numbers look off")
        .await
        .unwrap();
    assert_eq!(
        w2.engine
            .distribute_chargeback(w2.org, r2.id)
            .await
            .unwrap(),
        None
    );
    assert!(w2.deliverer.sent().is_empty());
}
