//! The HTTP API of the original specification, on axum, over an [`Engine`].
//!
//! Routes are the specification's, under `/api/v1`: `GET /api/v1/reports`
//! (the archive, newest first) and `POST /api/v1/reports` (generate, with the
//! specification's `GenerateReportRequest` body), then templates, schedules,
//! digest preferences and chargeback records, plus one route of our own:
//! `GET /api/v1/reports/{id}/file`, a completed report's file for the
//! signed-in organization (`Engine::artifact`). Every answer is JSON: a
//! success is `{ "data": ... }`, an error is `{ "error": ..., "field": ... }`
//! with the status it deserves, axum's own body, path and query rejections
//! and unknown routes included.
//!
//! Authentication: every route needs `Authorization: Bearer <token>`; the
//! host maps tokens to (organization, user). The organization never comes
//! from a client-supplied header (the specification's `x-org-id`) or body.
//! The download route is authenticated by its signed token instead.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::Engine;
use tokentra_reports::model::{
    from_json, Artifact, ChargebackConfigId, ChargebackConfiguration, ChargebackRecordId,
    EmailDigestPreferences, GenerateReportRequest, OrganizationId, ReportId, ReportType,
    ScheduledReportId, UserId,
};
use tokentra_reports::ports::{ReportCursor, ReportListQuery};
use tokentra_reports::Error;

/// Who a bearer token stands for.
#[derive(Clone, Copy, Debug)]
pub struct Principal {
    /// The organization.
    pub org: OrganizationId,
    /// The user.
    pub user: UserId,
    /// The user's e-mail (for default digest preferences).
    pub email: &'static str,
}

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Engine,
    /// Bearer tokens → principals.
    pub tokens: Arc<HashMap<String, Principal>>,
}

/// An error response: the crate's error mapped to an HTTP status.
pub struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    fn bad_request(field: &str, reason: impl std::fmt::Display) -> Self {
        ApiError(Error::invalid(field, reason.to_string()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            Error::Invalid { .. } | Error::Parse { .. } => StatusCode::BAD_REQUEST,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
            Error::InvalidState(_) => StatusCode::CONFLICT,
            Error::Unsupported(_) => StatusCode::UNPROCESSABLE_ENTITY,
            _ if self.0.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error_body(status, &self.0.to_string(), self.0.field())
    }
}

/// `{ "error": ..., "field": ... }` with `status` (`field` only when known).
fn error_body(status: StatusCode, error: &str, field: Option<&str>) -> Response {
    let mut body = serde_json::json!({ "error": error });
    if let Some(f) = field {
        body["field"] = f.into();
    }
    (status, Json(body)).into_response()
}

/// `base` with the top-level keys of `patch` put over it: a partial body
/// (the specification's `Partial<...>` create and update calls) keeps what
/// it leaves out.
fn merged(mut base: serde_json::Value, patch: serde_json::Value) -> serde_json::Value {
    if let (Some(b), serde_json::Value::Object(p)) = (base.as_object_mut(), patch) {
        for (k, v) in p {
            b.insert(k, v);
        }
    }
    base
}

/// Read a merged JSON value as a model type, errors naming the field.
fn read<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, ApiError> {
    Ok(from_json(&value.to_string())?)
}

/// `{ "data": ... }`, the specification's envelope.
fn data<T: serde::Serialize>(value: T) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "data": value }))
}

/// A JSON body read with the crate's [`from_json`], so a bad value is a 400
/// naming its JSON path (`recipients[0].type`) and every rejection (wrong
/// content type, unreadable or oversized body) is JSON too.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !json_type {
            return Err(ApiError::bad_request(
                "body",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request("body", e.body_text()))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| ApiError::bad_request("body", "the body is not UTF-8"))?;
        Ok(ApiJson(from_json(text)?))
    }
}

/// A path parameter whose rejection (a malformed id) is a JSON 400 naming it.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| ApiError::bad_request("id", e.body_text()))
    }
}

/// Query parameters whose rejection is a JSON 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::bad_request("query", e.body_text()))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match token.and_then(|t| state.tokens.get(t)) {
            Some(p) => Ok(*p),
            None => Err((
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(serde_json::json!({"error": "a valid bearer token is required", "field": "authorization"})),
            )
                .into_response()),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/reports", get(list_reports).post(generate))
        .route("/api/v1/reports/generate", post(generate))
        .route("/api/v1/reports/download", get(download))
        .route(
            "/api/v1/reports/scheduled",
            get(list_schedules).post(create_schedule),
        )
        .route(
            "/api/v1/reports/scheduled/{id}",
            put(update_schedule).delete(delete_schedule),
        )
        .route("/api/v1/reports/scheduled/{id}/run", post(run_schedule))
        .route(
            "/api/v1/reports/{id}",
            get(get_report).delete(delete_report),
        )
        .route("/api/v1/reports/{id}/download-url", post(download_url))
        .route("/api/v1/reports/{id}/file", get(report_file))
        .route("/api/v1/templates", get(list_templates))
        .route(
            "/api/v1/digest-preferences",
            get(get_digest).put(put_digest),
        )
        .route(
            "/api/v1/chargeback/configurations",
            get(list_chargeback_configurations).post(create_chargeback_configuration),
        )
        .route(
            "/api/v1/chargeback/configurations/{id}",
            put(update_chargeback_configuration),
        )
        .route("/api/v1/chargeback/records", get(list_chargeback_records))
        .route(
            "/api/v1/chargeback/records/{id}/approve",
            post(approve_record),
        )
        .route(
            "/api/v1/chargeback/records/{id}/reject",
            post(reject_record),
        )
        .fallback(|| async { error_body(StatusCode::NOT_FOUND, "no such route", None) })
        .method_not_allowed_fallback(|| async {
            error_body(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route",
                None,
            )
        })
        .with_state(state)
}

#[derive(Deserialize)]
struct TemplateParams {
    #[serde(rename = "type")]
    report_type: Option<ReportType>,
}

async fn list_templates(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<TemplateParams>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(s.engine.list_templates(p.org, q.report_type).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    limit: Option<usize>,
    before_created_at: Option<chrono::DateTime<chrono::Utc>>,
    before_id: Option<ReportId>,
}

/// The archive, newest first: `{ "data": [report...], "nextCursor": ... }`
/// (`limit` defaults to the specification's 20).
async fn list_reports(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<impl IntoResponse> {
    let cursor = match (q.before_created_at, q.before_id) {
        (Some(created_at), Some(id)) => Some(ReportCursor { created_at, id }),
        _ => None,
    };
    let page = s
        .engine
        .list_reports(
            p.org,
            &ReportListQuery {
                limit: q.limit.unwrap_or(20).clamp(1, 200),
                cursor,
                ..Default::default()
            },
        )
        .await?;
    let mut body = serde_json::json!({ "data": page.reports });
    if let Some(c) = page.next_cursor {
        body["nextCursor"] = serde_json::json!({"beforeCreatedAt": c.created_at, "beforeId": c.id});
    }
    Ok(Json(body))
}

/// The specification's `POST /api/v1/reports`: `{ "data": ReportGenerationResult }`.
async fn generate(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<GenerateReportRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(s.engine.generate(p.org, req, Some(p.user)).await?))
}

async fn get_report(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ReportId>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(s.engine.get_report(p.org, id).await?))
}

async fn delete_report(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ReportId>,
) -> ApiResult<impl IntoResponse> {
    s.engine.delete_report(p.org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct TtlParams {
    ttl_seconds: Option<i64>,
}

async fn download_url(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ReportId>,
    ApiQuery(q): ApiQuery<TtlParams>,
) -> ApiResult<impl IntoResponse> {
    let ttl = chrono::Duration::seconds(q.ttl_seconds.unwrap_or(3600).clamp(1, 7 * 86_400));
    let url = s.engine.download_url(p.org, id, ttl).await?;
    Ok(data(serde_json::json!({ "url": url })))
}

#[derive(Deserialize)]
struct DownloadParams {
    token: String,
}

async fn download(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DownloadParams>,
) -> ApiResult<Response> {
    let d = s.engine.verify_download(&q.token).await?;
    Ok(file_response(d.artifact))
}

/// A completed report's file for the signed-in organization (not in the
/// specification's API; hosts that serve files behind their own sign-in
/// use `Engine::artifact` this way).
async fn report_file(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ReportId>,
) -> ApiResult<Response> {
    Ok(file_response(s.engine.artifact(p.org, id).await?))
}

/// A file as an attachment: its media type, a file name of safe
/// characters, never cached by shared caches.
fn file_response(artifact: Artifact) -> Response {
    let mut headers = HeaderMap::new();
    let media = HeaderValue::from_str(&artifact.media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, media);
    let safe_name: String = artifact
        .file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    (headers, artifact.bytes).into_response()
}

async fn list_schedules(State(s): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(data(s.engine.list_schedules(p.org).await?))
}

async fn create_schedule(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<ScheduleInput>,
) -> ApiResult<impl IntoResponse> {
    let created = s.engine.create_schedule(p.org, input, Some(p.user)).await?;
    Ok((StatusCode::CREATED, data(created)))
}

async fn update_schedule(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ScheduledReportId>,
    ApiJson(input): ApiJson<ScheduleInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(s.engine.update_schedule(p.org, id, input).await?))
}

async fn delete_schedule(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ScheduledReportId>,
) -> ApiResult<impl IntoResponse> {
    s.engine.delete_schedule(p.org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The specification's `runScheduledReport(id)`: run now, outside the cadence.
async fn run_schedule(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ScheduledReportId>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(
        s.engine.run_schedule_now(p.org, id, Some(p.user)).await?,
    ))
}

async fn get_digest(State(s): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(data(
        s.engine.digest_preferences(p.org, p.user, p.email).await?,
    ))
}

/// The specification's `updatePreferences(userId, orgId, Partial<...>)`: the
/// keys given replace the stored (or default) ones.
async fn put_digest(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let current = s.engine.digest_preferences(p.org, p.user, p.email).await?;
    let mut prefs: EmailDigestPreferences = read(&merged(
        serde_json::to_value(&current).map_err(Error::from)?,
        body,
    ))?;
    // The user and organization come from the token, never from the body.
    prefs.id = current.id;
    prefs.user_id = p.user;
    prefs.organization_id = p.org;
    Ok(data(
        s.engine.upsert_digest_preferences(p.org, prefs).await?,
    ))
}

async fn list_chargeback_configurations(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<impl IntoResponse> {
    Ok(data(s.engine.store().list_chargeback_configs(p.org).await?))
}

/// A configuration in the specification's shape (its `Partial<...>`: `id`
/// may be left out); its `orgId` is the token's.
async fn create_chargeback_configuration(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let base = serde_json::json!({ "id": ChargebackConfigId::new(), "orgId": p.org });
    let config: ChargebackConfiguration = read(&merged(base, body))?;
    let created = s
        .engine
        .create_chargeback_configuration(p.org, config)
        .await?;
    Ok((StatusCode::CREATED, data(created)))
}

/// The keys given replace the stored ones.
async fn update_chargeback_configuration(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ChargebackConfigId>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let current = s.engine.store().get_chargeback_config(p.org, id).await?;
    let mut config: ChargebackConfiguration = read(&merged(
        serde_json::to_value(&current).map_err(Error::from)?,
        body,
    ))?;
    config.id = id;
    Ok(data(
        s.engine
            .update_chargeback_configuration(p.org, config)
            .await?,
    ))
}

async fn list_chargeback_records(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<impl IntoResponse> {
    Ok(data(
        s.engine
            .store()
            .list_chargeback_records(p.org, None)
            .await?,
    ))
}

async fn approve_record(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ChargebackRecordId>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(
        s.engine
            .approve_chargeback_record(p.org, id, p.user)
            .await?,
    ))
}

#[derive(Deserialize)]
struct RejectBody {
    reason: String,
}

async fn reject_record(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<ChargebackRecordId>,
    ApiJson(body): ApiJson<RejectBody>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(
        s.engine
            .reject_chargeback_record(p.org, id, p.user, &body.reason)
            .await?,
    ))
}
