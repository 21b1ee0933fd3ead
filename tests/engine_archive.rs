//! Engine: templates, archive, signed download links, distribution
//! bookkeeping and clean-up, end to end on the in-memory backends.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use rust_decimal_macros::dec;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::templates::{system_template, TemplateInput};
use tokentra_reports::engine::{links::token_from_url, Engine, EngineConfig, LinkSigner};
use tokentra_reports::model::*;
use tokentra_reports::ports::{Clock, GeneratedReportStore, ReportListQuery};
use tokentra_reports::Error;

struct Fixture {
    engine: Engine,
    store: MemoryStore,
    clock: ManualClock,
    deliverer: RecordingDeliverer,
    org: OrganizationId,
}

fn fixture() -> Fixture {
    let store = MemoryStore::new();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap());
    let deliverer = RecordingDeliverer::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::new()))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .deliverer(Arc::new(deliverer.clone()))
        .config(EngineConfig {
            links: Some(
                LinkSigner::new("https://reports.example.com/download", vec![vec![42; 32]])
                    .unwrap(),
            ),
            ..Default::default()
        })
        .build()
        .unwrap();
    Fixture {
        engine,
        store,
        clock,
        deliverer,
        org: OrganizationId::new(),
    }
}

async fn completed_report(f: &Fixture, recipients: Vec<ReportRecipient>) -> GeneratedReport {
    let now = f.clock.now();
    let r = GeneratedReport {
        id: ReportId::new(),
        organization_id: f.org,
        template_id: None,
        scheduled_report_id: None,
        schedule_slot: None,
        name: "October spend".into(),
        report_type: ReportType::Executive,
        format: ReportFormat::Pdf,
        date_range: DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap())
            .unwrap(),
        comparison_range: None,
        filters: ReportFilters::default(),
        status: ReportStatus::Completed,
        file_size: Some(8),
        page_count: Some(1),
        checksum: None,
        summary_data: Some(ReportSummaryData {
            total_cost: dec!(13690.41),
            total_requests: 3_979_456,
            cost_change: Some(dec!(12.5)),
            top_provider: Some("anthropic".into()),
            top_model: Some("claude-sonnet-4-5".into()),
            anomaly_count: 1,
        }),
        recipients,
        distribution_status: vec![],
        distributed_at: None,
        next_delivery_at: None,
        file_path: String::new(),
        download_url: None,
        download_expires_at: None,
        generation_time_ms: Some(40),
        error_message: None,
        expires_at: now + Duration::days(90),
        download_count: 0,
        created_by: None,
        created_at: now,
        started_at: None,
        completed_at: Some(now),
    };
    f.store.create_report(f.org, &r).await.unwrap();
    f.store
        .put_artifact(
            f.org,
            r.id,
            &Artifact {
                file_name: "october.pdf".into(),
                media_type: "application/pdf".into(),
                bytes: b"%PDF-1.7".to_vec(),
            },
        )
        .await
        .unwrap();
    r
}

#[tokio::test]
async fn templates_system_first_then_by_name_and_system_ones_are_read_only() {
    let f = fixture();
    let e = &f.engine;
    let zed = e
        .create_template(
            f.org,
            TemplateInput {
                name: "Zed".into(),
                report_type: Some(ReportType::Team),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let alpha = e
        .create_template(
            f.org,
            TemplateInput {
                name: "Alpha".into(),
                report_type: Some(ReportType::Team),
                is_default: true,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let names: Vec<_> = e
        .list_templates(f.org, None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        [
            "Executive Summary",
            "Team Cost Report",
            "Monthly Chargeback",
            "Project Report",
            "Anomaly Report",
            "Forecast Report",
            "Custom Report",
            "Usage Digest",
            "Alpha",
            "Zed"
        ]
    );
    // Another org sees only the system templates.
    assert_eq!(
        e.list_templates(OrganizationId::new(), None)
            .await
            .unwrap()
            .len(),
        ReportType::ALL.len()
    );
    // Filtered by type: the system one first, then the organization's.
    let team: Vec<_> = e
        .list_templates(f.org, Some(ReportType::Team))
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.report_type, t.is_system))
        .collect();
    assert!(team.iter().all(|(rt, _)| *rt == ReportType::Team));
    assert_eq!(team.first(), Some(&(ReportType::Team, true)));

    // Resolution: by id, else the org default, else the system one.
    assert_eq!(
        e.template_for(f.org, Some(zed.id), None).await.unwrap().id,
        zed.id
    );
    assert_eq!(
        e.template_for(f.org, None, Some(ReportType::Team))
            .await
            .unwrap()
            .id,
        alpha.id
    );
    assert_eq!(
        e.template_for(f.org, None, Some(ReportType::Executive))
            .await
            .unwrap()
            .id,
        system_template(ReportType::Executive).id
    );
    assert!(matches!(
        e.template_for(f.org, Some(zed.id), Some(ReportType::Executive))
            .await,
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        e.template_for(f.org, Some(TemplateId::new()), None).await,
        Err(Error::NotFound { .. })
    ));

    // A new default replaces the old one.
    let beta = e
        .create_template(
            f.org,
            TemplateInput {
                name: "Beta".into(),
                report_type: Some(ReportType::Team),
                is_default: true,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        e.template_for(f.org, None, Some(ReportType::Team))
            .await
            .unwrap()
            .id,
        beta.id
    );
    assert!(!e.get_template(f.org, alpha.id).await.unwrap().is_default);

    // System templates cannot change.
    let sys = system_template(ReportType::Executive).id;
    assert!(matches!(
        e.update_template(
            f.org,
            sys,
            TemplateInput {
                name: "Mine".into(),
                ..Default::default()
            }
        )
        .await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        e.delete_template(f.org, sys).await,
        Err(Error::PermissionDenied(_))
    ));

    // Validation names the field.
    let err = e
        .create_template(
            f.org,
            TemplateInput {
                name: " ".into(),
                report_type: Some(ReportType::Team),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("name"));
    let err = e
        .create_template(
            f.org,
            TemplateInput {
                name: "x".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("type"));
    let mut bad = TemplateInput {
        name: "x".into(),
        report_type: Some(ReportType::Team),
        ..Default::default()
    };
    bad.branding.primary_color = Some("red".into());
    assert_eq!(
        e.create_template(f.org, bad, None)
            .await
            .unwrap_err()
            .field(),
        Some("branding.primaryColor")
    );

    // Update and delete an own template; others' are not found.
    let upd = e
        .update_template(
            f.org,
            zed.id,
            TemplateInput {
                name: "Zed 2".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(upd.name, "Zed 2");
    assert_eq!(upd.report_type, ReportType::Team);
    assert!(matches!(
        e.delete_template(OrganizationId::new(), zed.id).await,
        Err(Error::NotFound { .. })
    ));
    e.delete_template(f.org, zed.id).await.unwrap();
    assert!(matches!(
        e.get_template(f.org, zed.id).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn signed_links_download_once_verified_and_refuse_tampering_and_expiry() {
    let f = fixture();
    let r = completed_report(&f, vec![]).await;
    let url = f
        .engine
        .download_url(f.org, r.id, Duration::hours(24))
        .await
        .unwrap();
    let token = token_from_url(&url).unwrap();
    let d = f.engine.verify_download(&token).await.unwrap();
    assert_eq!(d.artifact.bytes, b"%PDF-1.7");
    assert_eq!(d.report.download_count, 1);
    f.engine.verify_download(&token).await.unwrap();
    assert_eq!(
        f.engine
            .get_report(f.org, r.id)
            .await
            .unwrap()
            .download_count,
        2
    );

    // Tampered: another report id.
    let other = completed_report(&f, vec![]).await;
    let forged = token.replace(
        &r.id.0.simple().to_string(),
        &other.id.0.simple().to_string(),
    );
    assert!(matches!(
        f.engine.verify_download(&forged).await,
        Err(Error::PermissionDenied(_))
    ));
    // Expired.
    f.clock.advance(Duration::hours(24));
    assert!(
        matches!(f.engine.verify_download(&token).await, Err(Error::PermissionDenied(m)) if m.contains("expired"))
    );
    // A link never outlives the report.
    f.clock.advance(Duration::days(89) - Duration::hours(1));
    let short = f
        .engine
        .download_url(f.org, r.id, Duration::days(30))
        .await
        .unwrap();
    let grant_exp = token_from_url(&short).unwrap();
    f.clock.advance(Duration::hours(2));
    assert!(f.engine.verify_download(&grant_exp).await.is_err());
    // Another org cannot get a link.
    assert!(matches!(
        f.engine
            .download_url(OrganizationId::new(), r.id, Duration::hours(1))
            .await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn distribution_retries_only_unsent_recipients_with_stable_keys() {
    let f = fixture();
    let good = ReportRecipient::email("cfo@example.com");
    let flaky = ReportRecipient::email("flaky@example.com");
    let r = completed_report(&f, vec![good.clone(), flaky.clone()]).await;
    f.deliverer.fail_for("flaky@example.com", true);

    let first = f.engine.distribute(f.org, r.id).await.unwrap();
    assert_eq!((first.sent, first.failed, first.already_sent), (1, 1, 0));
    let rep = f.engine.get_report(f.org, r.id).await.unwrap();
    assert_eq!(rep.distributed_at, None);
    let st = |rep: &GeneratedReport, who: &ReportRecipient| {
        rep.distribution_status
            .iter()
            .find(|d| &d.recipient == who)
            .unwrap()
            .clone()
    };
    assert_eq!(st(&rep, &good).status, DeliveryState::Sent);
    let failed = st(&rep, &flaky);
    assert_eq!(failed.status, DeliveryState::Failed);
    assert!(failed
        .error
        .as_deref()
        .unwrap()
        .contains("flaky@example.com"));
    assert_eq!(failed.attempts, 1);

    f.deliverer.heal("flaky@example.com");
    f.clock.advance(Duration::minutes(5));
    let second = f.engine.distribute(f.org, r.id).await.unwrap();
    assert_eq!((second.sent, second.failed, second.already_sent), (1, 0, 1));
    let rep = f.engine.get_report(f.org, r.id).await.unwrap();
    assert_eq!(rep.distributed_at, Some(f.clock.now()));
    assert_eq!(st(&rep, &flaky).attempts, 2);

    // Each recipient got exactly one successful delivery; the flaky one's
    // key is the same as on its failed attempt.
    let sent = f.deliverer.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].idempotency_key, failed.idempotency_key);
    assert_ne!(sent[0].idempotency_key, sent[1].idempotency_key);
    assert_eq!(sent[0].attachment.as_ref().unwrap().bytes, b"%PDF-1.7");
    // Sent after the run: the e-mail made from the stored summary.
    #[cfg(feature = "html")]
    assert!(
        sent[0].text_body.contains("$13,690.41"),
        "{}",
        sent[0].text_body
    );
    #[cfg(not(feature = "html"))]
    assert!(sent[0].text_body.contains("13690.41"));
    assert!(sent[0]
        .download_url
        .as_deref()
        .unwrap()
        .starts_with("https://reports.example.com/download?token="));
    assert_eq!(f.deliverer.attempts(), 3);

    // A third pass sends nothing.
    let third = f.engine.distribute(f.org, r.id).await.unwrap();
    assert_eq!((third.sent, third.failed, third.already_sent), (0, 0, 2));
    assert_eq!(f.deliverer.attempts(), 3);
}

#[tokio::test]
async fn cleanup_expires_artifacts_and_keeps_rows() {
    let f = fixture();
    let old = completed_report(&f, vec![]).await;
    f.clock.advance(Duration::days(30));
    let young = completed_report(&f, vec![]).await;
    f.clock.advance(Duration::days(60));
    let stats = f.engine.cleanup_expired_reports().await.unwrap();
    assert_eq!(stats.expired, 1);
    let o = f.engine.get_report(f.org, old.id).await.unwrap();
    assert_eq!(o.status, ReportStatus::Expired);
    assert!(matches!(
        f.store.get_artifact(f.org, old.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(f.store.get_artifact(f.org, young.id).await.is_ok());
    assert_eq!(f.engine.cleanup_expired_reports().await.unwrap().expired, 0);
    assert!(matches!(
        f.engine
            .download_url(f.org, old.id, Duration::hours(1))
            .await,
        Err(Error::InvalidState(_))
    ));
    let page = f
        .engine
        .list_reports(f.org, &ReportListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.reports.len(), 2);
    assert_eq!(page.reports[0].id, young.id, "newest first");
}

#[tokio::test]
async fn artifact_returns_the_file_of_a_completed_report_only() {
    let f = fixture();
    let r = completed_report(&f, vec![]).await;
    let a = f.engine.artifact(f.org, r.id).await.unwrap();
    assert_eq!(
        (
            a.file_name.as_str(),
            a.media_type.as_str(),
            a.bytes.as_slice()
        ),
        ("october.pdf", "application/pdf", b"%PDF-1.7".as_slice())
    );
    // Not a download: the count stays.
    assert_eq!(
        f.engine
            .get_report(f.org, r.id)
            .await
            .unwrap()
            .download_count,
        0
    );
    // Another organization's report is not found.
    assert!(matches!(
        f.engine.artifact(OrganizationId::new(), r.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.engine.artifact(f.org, ReportId::new()).await,
        Err(Error::NotFound { .. })
    ));
    // A report still generating has no file.
    let mut pending = completed_report(&f, vec![]).await;
    pending.status = ReportStatus::Generating;
    f.store.update_report(f.org, &pending).await.unwrap();
    assert!(
        matches!(f.engine.artifact(f.org, pending.id).await, Err(Error::InvalidState(m)) if m.contains("Generating"))
    );
    // An expired one neither.
    f.clock.advance(Duration::days(91));
    f.engine.cleanup_expired_reports().await.unwrap();
    assert!(
        matches!(f.engine.artifact(f.org, r.id).await, Err(Error::InvalidState(m)) if m.contains("expired"))
    );
}
