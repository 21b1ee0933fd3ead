//! The `http_api` example, started on a loopback port and exercised route
//! by route with a real HTTP client.

#[allow(dead_code)]
#[path = "../examples/http_api/app.rs"]
mod app;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::{Engine, EngineConfig, LinkSigner};
use tokentra_reports::model::{
    ChargebackConfigId, ChargebackConfiguration, DateRange, OrganizationId, UserId,
};

struct Server {
    base: String,
    clock: ManualClock,
    client: reqwest::Client,
    /// Two chargeback records awaiting approval by token-a's user.
    records: [String; 2],
}

impl Server {
    async fn start() -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let org_a = OrganizationId::new();
        let org_b = OrganizationId::new();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");
        let rows = read_cost_rows_csv(std::fs::File::open(path).unwrap(), "demo").unwrap();
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap());
        let engine = Engine::builder()
            .cost_source(Arc::new(MemoryCostSource::with_rows(org_a, rows)))
            .store(Arc::new(MemoryStore::new()))
            .deliverer(Arc::new(RecordingDeliverer::new()))
            .clock(Arc::new(clock.clone()))
            .config(EngineConfig {
                links: Some(
                    LinkSigner::new(format!("{base}/api/v1/reports/download"), vec![vec![9; 32]])
                        .unwrap(),
                ),
                ..Default::default()
            })
            .build()
            .unwrap();
        let approver = UserId::new();
        let mut records = Vec::new();
        for name in ["Teams", "Projects"] {
            let c: ChargebackConfiguration = serde_json::from_value(json!({
                "id": ChargebackConfigId::new(), "orgId": org_a, "name": name,
                "allocationBasis": "team", "requiresApproval": true, "approvers": [approver],
                "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
            }))
            .unwrap();
            engine
                .store()
                .create_chargeback_config(org_a, &c)
                .await
                .unwrap();
            let october =
                DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap())
                    .unwrap();
            let r = engine
                .generate_chargeback_record(org_a, c.id, october, false)
                .await
                .unwrap();
            records.push(r.id.to_string());
        }
        let mut tokens = HashMap::new();
        tokens.insert(
            "token-a".to_string(),
            app::Principal {
                org: org_a,
                user: approver,
                email: "a@example.com",
            },
        );
        tokens.insert(
            "token-a2".to_string(),
            app::Principal {
                org: org_a,
                user: UserId::new(),
                email: "a2@example.com",
            },
        );
        tokens.insert(
            "token-b".to_string(),
            app::Principal {
                org: org_b,
                user: UserId::new(),
                email: "b@example.com",
            },
        );
        let state = app::AppState {
            engine,
            tokens: Arc::new(tokens),
        };
        tokio::spawn(async move { axum::serve(listener, app::router(state)).await.unwrap() });
        Server {
            base,
            clock,
            client: reqwest::Client::new(),
            records: [records[0].clone(), records[1].clone()],
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

use reqwest::Method;

#[tokio::test]
async fn every_route_with_auth_isolation_and_signed_downloads() {
    let s = Server::start().await;

    // Auth: no token, a bad token, and a client-supplied org header that is ignored.
    assert_eq!(
        s.call(Method::GET, "/api/v1/templates", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.call(Method::GET, "/api/v1/templates", Some("nope"), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // Templates.
    let (st, templates) = s
        .call(Method::GET, "/api/v1/templates", Some("token-a"), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(templates["data"][0]["name"], "Executive Summary");
    assert_eq!(templates["data"][0]["type"], "executive");
    let (st, only) = s
        .call(
            Method::GET,
            "/api/v1/templates?type=chargeback",
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let only = only["data"].as_array().unwrap();
    assert!(!only.is_empty());
    assert!(only.iter().all(|t| t["type"] == "chargeback"));

    // Generate with the specification's own request body and route.
    let (st, res) = s
        .call(
            Method::POST,
            "/api/v1/reports",
            Some("token-a"),
            Some(serde_json::from_str(
                r#"{"type":"executive","dateRange":{"start":"2026-10-01","end":"2026-10-31"},"format":"json"}"#,
            ).unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{res}");
    let res = &res["data"];
    assert_eq!(res["status"], "completed");
    assert!(res["downloadUrl"]
        .as_str()
        .unwrap()
        .contains("/api/v1/reports/download?token="));
    assert_eq!(res["summary"]["totalCost"].to_string(), "13690.41");
    let id = res["reportId"].as_str().unwrap().to_string();
    // Validation errors are 400 with the field, as JSON.
    let (st, err) = s
        .call(
            Method::POST,
            "/api/v1/reports",
            Some("token-a"),
            Some(
                json!({"type": "team", "dateRange": {"start": "2026-10-02", "end": "2026-10-01"}}),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "dateRange");
    let (st, err) = s
        .call(
            Method::POST,
            "/api/v1/reports",
            Some("token-a"),
            Some(json!({"type": "weekly-ish", "format": "json"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "type");
    // axum's own rejections are JSON too: a body that is not JSON, a
    // malformed id, an unknown route, a wrong method.
    let resp = s
        .client
        .post(format!("{}/api/v1/reports", s.base))
        .bearer_auth("token-a")
        .header("content-type", "text/plain")
        .body("type=executive")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["field"], "body");
    let resp = s
        .client
        .post(format!("{}/api/v1/reports", s.base))
        .bearer_auth("token-a")
        .header("content-type", "application/json")
        .body("{\"type\": \"executive\",")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.json::<Value>().await.unwrap()["error"].is_string());
    let (st, err) = s
        .call(
            Method::GET,
            "/api/v1/reports/not-a-uuid",
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "id");
    let (st, err) = s
        .call(Method::GET, "/api/v1/nowhere", Some("token-a"), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(err["error"].is_string());
    let (st, err) = s
        .call(Method::PATCH, "/api/v1/reports", Some("token-a"), None)
        .await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    assert!(err["error"].is_string());
    // The specification's x-org-id header does not choose the organization.
    let org_a = templates["data"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|t| t["orgId"].as_str().map(str::to_owned));
    let resp = s
        .client
        .get(format!("{}/api/v1/reports", s.base))
        .bearer_auth("token-b")
        .header("x-org-id", org_a.unwrap_or_default())
        .send()
        .await
        .unwrap();
    let listed: Value = resp.json().await.unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 0);

    // List and get; another org sees nothing.
    let (st, list) = s
        .call(
            Method::GET,
            "/api/v1/reports?limit=10",
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    // The generated report and the two chargeback reports of the seeded records.
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    let (_, list_b) = s
        .call(Method::GET, "/api/v1/reports", Some("token-b"), None)
        .await;
    assert_eq!(list_b["data"].as_array().unwrap().len(), 0);
    let (st, one) = s
        .call(
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["data"]["id"], id.as_str());
    assert_eq!(one["data"]["type"], "executive");
    assert_eq!(one["data"]["dateRangeStart"], "2026-10-01");
    assert!(one["data"]["filePath"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/{id}.json")));
    assert_eq!(
        s.call(
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            Some("token-b"),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // Signed download link, then the download with the right content type.
    let (st, link) = s
        .call(
            Method::POST,
            &format!("/api/v1/reports/{id}/download-url?ttl_seconds=600"),
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let url = link["data"]["url"].as_str().unwrap().to_string();
    let resp = s.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename="));
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["summaryData"]["totalCost"].to_string(), "13690.41");
    // Tampered: one character of the signature changed.
    let mut tampered = url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        s.client.get(&tampered).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // Expired.
    s.clock.advance(Duration::minutes(11));
    let resp = s.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("expired"));
    // Download count recorded.
    let (_, one) = s
        .call(
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(one["data"]["downloadCount"], 1);
    // The file behind the host's own sign-in (`Engine::artifact`): the
    // organization's own report only, not counted as a download.
    let (st, doc) = s
        .call(
            Method::GET,
            &format!("/api/v1/reports/{id}/file"),
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(doc["summaryData"]["totalCost"].to_string(), "13690.41");
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/reports/{id}/file"),
            Some("token-b"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, one) = s
        .call(
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(one["data"]["downloadCount"], 1);

    // Scheduled reports CRUD.
    let sched = json!({
        "name": "Weekly exec", "type": "executive", "frequency": "weekly",
        "scheduleConfig": {"time": "08:00", "timezone": "Europe/Paris", "dayOfWeek": 1},
        "recipients": [{"type": "email", "address": "cfo@example.com"}, {"type": "webhook", "url": "https://hooks.example.com/x"}], "format": "json"
    });
    let (st, created) = s
        .call(
            Method::POST,
            "/api/v1/reports/scheduled",
            Some("token-a"),
            Some(sched.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let created = &created["data"];
    let sid = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["nextRunAt"], "2026-11-09T07:00:00Z");
    assert_eq!(
        created["recipients"][1]["url"],
        "https://hooks.example.com/x"
    );
    // Run it now, outside its cadence: a report, nextRunAt unchanged, runCount 1.
    let (st, ran) = s
        .call(
            Method::POST,
            &format!("/api/v1/reports/scheduled/{sid}/run"),
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{ran}");
    assert_eq!(ran["data"]["status"], "completed");
    let mut bad = sched.clone();
    bad["scheduleConfig"]["dayOfWeek"] = json!(9);
    let (st, err) = s
        .call(
            Method::POST,
            "/api/v1/reports/scheduled",
            Some("token-a"),
            Some(bad),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["field"], "scheduleConfig.dayOfWeek");
    let mut upd = sched.clone();
    upd["name"] = json!("Weekly exec (renamed)");
    let (st, updated) = s
        .call(
            Method::PUT,
            &format!("/api/v1/reports/scheduled/{sid}"),
            Some("token-a"),
            Some(upd.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(updated["data"]["name"], "Weekly exec (renamed)");
    assert_eq!(updated["data"]["nextRunAt"], "2026-11-09T07:00:00Z");
    assert_eq!(updated["data"]["runCount"], 1);
    assert_eq!(updated["data"]["lastStatus"], "completed");
    assert_eq!(
        s.call(
            Method::PUT,
            &format!("/api/v1/reports/scheduled/{sid}"),
            Some("token-b"),
            Some(upd)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = s
        .call(
            Method::GET,
            "/api/v1/reports/scheduled",
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/api/v1/reports/scheduled/{sid}"),
            Some("token-b"),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/api/v1/reports/scheduled/{sid}"),
            Some("token-a"),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );

    // Digest preferences: defaults, then an update; user and org come from the token.
    let (st, prefs) = s
        .call(
            Method::GET,
            "/api/v1/digest-preferences",
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let prefs = &prefs["data"];
    assert_eq!(prefs["digestTime"], "09:00");
    assert_eq!(prefs["frequency"], "daily");
    assert_eq!(prefs["includeForecast"], false);
    assert_eq!(prefs["isActive"], true);
    assert_eq!(prefs["timezone"], "UTC");
    // A partial update (the specification's updatePreferences) keeps the rest.
    let (st, partial) = s
        .call(
            Method::PUT,
            "/api/v1/digest-preferences",
            Some("token-a"),
            Some(json!({"frequency": "weekly", "dayOfWeek": 5})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{partial}");
    assert_eq!(partial["data"]["frequency"], "weekly");
    assert_eq!(partial["data"]["dayOfWeek"], 5);
    assert_eq!(partial["data"]["digestTime"], "09:00");
    let mut p = prefs.clone();
    p["timezone"] = json!("Asia/Kolkata");
    p["userId"] = json!(UserId::new().to_string());
    let (st, saved) = s
        .call(
            Method::PUT,
            "/api/v1/digest-preferences",
            Some("token-a"),
            Some(p.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{saved}");
    assert_eq!(saved["data"]["timezone"], "Asia/Kolkata");
    assert_eq!(saved["data"]["userId"], prefs["userId"]);
    p["timezone"] = json!("Mars/Base");
    let (st, err) = s
        .call(
            Method::PUT,
            "/api/v1/digest-preferences",
            Some("token-a"),
            Some(p),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "timezone");

    // A chargeback configuration as the specification writes it goes in;
    // its orgId is the token's, whatever the body says; bad recipients are
    // refused naming the field.
    let spec_config = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/spec/chargeback_configuration.json"
    ))
    .unwrap();
    let resp = s
        .client
        .post(format!("{}/api/v1/chargeback/configurations", s.base))
        .bearer_auth("token-b")
        .header("content-type", "application/json")
        .body(spec_config.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["data"]["name"], "Monthly AI Chargeback");
    assert_eq!(
        created["data"]["distributionList"][1]["channel"],
        "#finance-chargeback"
    );
    assert_ne!(
        created["data"]["orgId"], "0b7c5a8e-2f43-4c1e-9d2a-6a1f3e5b7c90",
        "the organization comes from the token"
    );
    let (_, listed) = s
        .call(
            Method::GET,
            "/api/v1/chargeback/configurations",
            Some("token-b"),
            None,
        )
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let mut bad: Value = serde_json::from_str(&spec_config).unwrap();
    bad["id"] = json!(ChargebackConfigId::new());
    bad["distributionList"][0]["address"] = json!("not-an-address");
    let (st, err) = s
        .call(
            Method::POST,
            "/api/v1/chargeback/configurations",
            Some("token-b"),
            Some(bad),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "distributionList[0].address");

    // Chargeback approval: only approvers, only once; rejection needs a reason.
    let (st, recs) = s
        .call(
            Method::GET,
            "/api/v1/chargeback/records",
            Some("token-a"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let recs = &recs["data"];
    assert_eq!(recs.as_array().unwrap().len(), 2);
    assert_eq!(recs[0]["status"], "pending_approval");
    assert!(recs[0]["configId"].is_string());
    let (_, none) = s
        .call(
            Method::GET,
            "/api/v1/chargeback/records",
            Some("token-b"),
            None,
        )
        .await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
    let [r1, r2] = s.records.clone();
    let approve = format!("/api/v1/chargeback/records/{r1}/approve");
    assert_eq!(
        s.call(Method::POST, &approve, Some("token-a2"), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        s.call(Method::POST, &approve, Some("token-b"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (st, approved) = s.call(Method::POST, &approve, Some("token-a"), None).await;
    assert_eq!(st, StatusCode::OK, "{approved}");
    assert_eq!(approved["data"]["status"], "approved");
    assert_eq!(
        s.call(Method::POST, &approve, Some("token-a"), None)
            .await
            .0,
        StatusCode::CONFLICT
    );
    let reject = format!("/api/v1/chargeback/records/{r2}/reject");
    let (st, err) = s
        .call(
            Method::POST,
            &reject,
            Some("token-a"),
            Some(json!({"reason": " "})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    let (st, rejected) = s
        .call(
            Method::POST,
            &reject,
            Some("token-a"),
            Some(json!({"reason": "numbers look off"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["data"]["status"], "rejected");
    assert_eq!(rejected["data"]["rejectionReason"], "numbers look off");

    // Delete a report; another org cannot.
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/api/v1/reports/{id}"),
            Some("token-b"),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/api/v1/reports/{id}"),
            Some("token-a"),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.call(
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            Some("token-a"),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}
