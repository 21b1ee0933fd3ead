//! The HTTP API of the original specification, on axum, over an [`Engine`].
//!
//! Authentication: every `/api` route needs `Authorization: Bearer <token>`;
//! the host maps tokens to (organization, user). The organization never
//! comes from a client-supplied header or body. The download route is
//! authenticated by its signed token instead.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::Engine;
use tokentra_reports::model::{
    ChargebackRecordId, EmailDigestPreferences, GenerateReportRequest, OrganizationId, ReportId,
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
        let body = serde_json::json!({ "error": self.0.to_string(), "field": self.0.field() });
        (status, Json(body)).into_response()
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
                Json(serde_json::json!({"error": "a valid bearer token is required"})),
            )
                .into_response()),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/templates", get(list_templates))
        .route("/api/reports", get(list_reports))
        .route("/api/reports/generate", post(generate))
        .route("/api/reports/download", get(download))
        .route("/api/reports/{id}", get(get_report).delete(delete_report))
        .route("/api/reports/{id}/download-url", post(download_url))
        .route(
            "/api/reports/scheduled",
            get(list_schedules).post(create_schedule),
        )
        .route(
            "/api/reports/scheduled/{id}",
            put(update_schedule).delete(delete_schedule),
        )
        .route("/api/digest-preferences", get(get_digest).put(put_digest))
        .route("/api/chargeback/records", get(list_chargeback_records))
        .route("/api/chargeback/records/{id}/approve", post(approve_record))
        .route("/api/chargeback/records/{id}/reject", post(reject_record))
        .with_state(state)
}

async fn list_templates(State(s): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.engine.list_templates(p.org).await?))
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<usize>,
    before_created_at: Option<chrono::DateTime<chrono::Utc>>,
    before_id: Option<ReportId>,
}

async fn list_reports(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<ListParams>,
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
                limit: q.limit.unwrap_or(50),
                cursor,
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(serde_json::json!({
        "reports": page.reports,
        "nextCursor": page.next_cursor.map(|c| serde_json::json!({"beforeCreatedAt": c.created_at, "beforeId": c.id})),
    })))
}

async fn generate(
    State(s): State<AppState>,
    p: Principal,
    Json(req): Json<GenerateReportRequest>,
) -> ApiResult<impl IntoResponse> {
    let result = s.engine.generate(p.org, req, Some(p.user)).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

async fn get_report(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<ReportId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.engine.get_report(p.org, id).await?))
}

async fn delete_report(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<ReportId>,
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
    Path(id): Path<ReportId>,
    Query(q): Query<TtlParams>,
) -> ApiResult<impl IntoResponse> {
    let ttl = chrono::Duration::seconds(q.ttl_seconds.unwrap_or(3600).clamp(1, 7 * 86_400));
    let url = s.engine.download_url(p.org, id, ttl).await?;
    Ok(Json(serde_json::json!({ "url": url })))
}

#[derive(Deserialize)]
struct DownloadParams {
    token: String,
}

async fn download(
    State(s): State<AppState>,
    Query(q): Query<DownloadParams>,
) -> ApiResult<Response> {
    let d = s.engine.verify_download(&q.token).await?;
    let mut headers = HeaderMap::new();
    let media = HeaderValue::from_str(&d.artifact.media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, media);
    let safe_name: String = d
        .artifact
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
    Ok((headers, d.artifact.bytes).into_response())
}

async fn list_schedules(State(s): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.engine.list_schedules(p.org).await?))
}

async fn create_schedule(
    State(s): State<AppState>,
    p: Principal,
    Json(input): Json<ScheduleInput>,
) -> ApiResult<impl IntoResponse> {
    let created = s.engine.create_schedule(p.org, input, Some(p.user)).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn update_schedule(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<ScheduledReportId>,
    Json(input): Json<ScheduleInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.engine.update_schedule(p.org, id, input).await?))
}

async fn delete_schedule(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<ScheduledReportId>,
) -> ApiResult<impl IntoResponse> {
    s.engine.delete_schedule(p.org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_digest(State(s): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        s.engine.digest_preferences(p.org, p.user, p.email).await?,
    ))
}

async fn put_digest(
    State(s): State<AppState>,
    p: Principal,
    Json(mut prefs): Json<EmailDigestPreferences>,
) -> ApiResult<impl IntoResponse> {
    // The user and organization come from the token, never from the body.
    prefs.user_id = p.user;
    prefs.organization_id = p.org;
    Ok(Json(
        s.engine.upsert_digest_preferences(p.org, prefs).await?,
    ))
}

async fn list_chargeback_records(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        s.engine
            .store()
            .list_chargeback_records(p.org, None)
            .await?,
    ))
}

async fn approve_record(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<ChargebackRecordId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
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
    Path(id): Path<ChargebackRecordId>,
    Json(body): Json<RejectBody>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        s.engine
            .reject_chargeback_record(p.org, id, p.user, &body.reason)
            .await?,
    ))
}
